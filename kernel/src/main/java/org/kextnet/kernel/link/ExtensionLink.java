package org.kextnet.kernel.link;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.LinkLayer;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.ProtocolAttachment;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.net.IfnetInit;
import org.kextnet.kpi.net.ProtocolFamily;

/**
 * The link layer of an extension's interface that brings its own demux or framer ({@code ifnet_demux_func},
 * {@code ifnet_framer_func}): the frame header has the length the extension declared; whatever the
 * extension leaves out is done as the interface's family does it. The extension's callbacks are guarded:
 * a throw drops the frame and counts a fault.
 */
public final class ExtensionLink implements LinkLayer {
    private final IfnetInit init;
    private final int headerLength;
    private final boolean ethernet;
    /** The interface's registration: calls are counted against it and its faults counted by it. */
    private final KernelRegistration record;

    public ExtensionLink(IfnetInit init, int headerLength, KernelRegistration record) {
        this.init = init;
        this.headerLength = headerLength;
        this.ethernet = init.family() == IfnetFamily.ETHERNET;
        this.record = record;
    }

    @Override public void input(PacketContext ctx, Interface ifp, Packet m) {
        if (m.length() < headerLength) {
            ctx.stats().inc(Stat.LINK_RUNT);
            m.free();
            return;
        }
        int frameHeader = m.offset();
        m.adj(headerLength);
        int pf;
        if (init.demux() != null) {
            int gen = m.generation();
            CallSlot s = ctx.calls;
            try {
                s.enter(record);
                pf = init.demux().demux(ifp, m, frameHeader);
                s.exit();
            } catch (Throwable t) {
                s.threw(t);
                record.fault("demux", t);
                pf = -1;
            }
            if (pf == Errno.EJUSTRETURN) return;
            if (pf < 0) {
                ctx.stats().inc(Stat.LINK_UNKNOWN_TYPE);
                if (!m.isFree() && m.generation() == gen) m.free();
                return;
            }
        } else {
            ProtocolAttachment byType = ethernet ? ifp.protocols().byEtherType(Ethernet.type(m.segment(), frameHeader))
                    : ifp.protocols().byIpVersion(m.length() > 0 ? m.getU8(0) >>> 4 : 0);
            pf = byType == null ? ProtocolFamily.PF_UNSPEC : byType.protocolFamily();
        }
        ProtocolAttachment pa = pf == ProtocolFamily.PF_UNSPEC ? null : ifp.protocols().byFamily(pf);
        if (!ifp.filters().input(ctx, pa == null ? ProtocolFamily.PF_UNSPEC : pf, m, frameHeader)) return;
        if (pa == null) {
            ctx.stats().inc(Stat.LINK_UNKNOWN_TYPE);
            m.free();
            return;
        }
        pa.input(ctx, m, frameHeader);
    }

    /** Ethernet's resolution (ARP) unless the extension frames itself: then its framer gets the next hop. */
    @Override public boolean resolvesNextHops() { return init.framer() == null && ethernet; }

    /**
     * The kernel's packets over this interface: Ethernet framing unless the extension frames, else its framer,
     * which gets the next hop as the frame's destination.
     */
    @Override public void output(PacketContext ctx, Interface ifp, Packet m, long destination, int type) {
        if (init.framer() == null) {
            if (ethernet) EthernetLink.INSTANCE.output(ctx, ifp, m, destination, type);
            else ifp.outputFrame(ctx, m, ProtocolFamily.PF_INET);
            return;
        }
        FrameInfo f = ctx.frame.reset(destination);
        f.setFrameType(type);
        if (frame(ctx, ifp, m, f) == 0) ifp.outputFrame(ctx, m, ProtocolFamily.PF_INET);
    }

    @Override public int frame(PacketContext ctx, Interface ifp, Packet m, FrameInfo frame) {
        if (init.framer() == null) return ethernet ? EthernetLink.INSTANCE.frame(ctx, ifp, m, frame) : 0;
        int gen = m.generation();
        CallSlot s = ctx.calls;
        int r;
        ctx.enter();
        try {
            s.enter(record);
            r = init.framer().framer(ifp, m, frame);
            s.exitVerdict(r);
        } catch (Throwable t) {
            s.threw(t);
            record.fault("framer", t);
            r = Errno.EIO;
        } finally {
            ctx.exit();
        }
        if (r != 0 && r != Errno.EJUSTRETURN && !m.isFree() && m.generation() == gen) m.free();
        return r;
    }

    @Override public int headerLength() { return headerLength; }
}
