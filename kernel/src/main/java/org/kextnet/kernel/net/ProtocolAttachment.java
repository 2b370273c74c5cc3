package org.kextnet.kernel.net;

import java.util.List;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.net.Layers.NetworkProtocol;
import org.kextnet.kernel.net.Layers.PreOutput;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.protocol.ProtocolHandler;
import org.kextnet.kpi.protocol.ProtocolKpi;

/**
 * A protocol family attached to one interface ({@code if_proto}): its demux descriptors and its handler. The
 * kernel's own IPv4 attaches like an extension's protocol does, through the protocol KPI, with one difference,
 * the kernel's one fast path between the link and network layers: a handler that also implements
 * {@link NetworkProtocol} (only kernel code can, as extensions see only the KPI) is called through that
 * interface, with the thread's context and no guard; every other handler is called through the KPI, guarded.
 */
public final class ProtocolAttachment extends KernelRegistration implements ProtocolKpi.AttachmentRef {
    private final Interface ifp;
    private final int pf;
    private final List<DemuxDescriptor> demux;
    private final ProtocolHandler handler;
    /** The handler's packet path when it is the kernel's own, else null. */
    private final NetworkProtocol kernel;
    private final Runnable onRemove;
    /** Why the current removal happens. */
    private volatile Removal removal = Removal.REQUESTED;

    public ProtocolAttachment(Owner owner, Interface ifp, int pf, List<DemuxDescriptor> demux, ProtocolHandler handler,
                              Runnable onRemove) {
        super(owner, Head.PROTOCOL, "proto", ifp.name() + ":" + ProtocolFamily.name(pf));
        this.ifp = ifp;
        this.pf = pf;
        this.demux = List.copyOf(demux);
        this.handler = handler;
        this.kernel = handler instanceof NetworkProtocol np ? np : null;
        this.onRemove = onRemove;
    }

    @Override public Ifnet ifnet() { return ifp; }
    @Override public int protocolFamily() { return pf; }
    @Override public List<DemuxDescriptor> demux() { return demux; }
    public ProtocolHandler handler() { return handler; }
    /** The kernel's own packet path for this protocol, or null for an extension's protocol. */
    public NetworkProtocol kernelHandler() { return kernel; }
    /** Whether the link layers may hand this protocol vectors of IPv4 packets. */
    public boolean takesVectors() { return kernel != null && kernel.takesVectors(); }

    /** Hands a demuxed frame to the protocol (after the interface filters). Takes ownership. */
    public void input(PacketContext ctx, Packet m, int frameHeader) {
        if (kernel != null) {
            kernel.input(ctx, ifp, m, frameHeader);
            return;
        }
        int gen = m.generation();
        CallSlot s = ctx.calls;
        int r;
        try {
            s.enter(this);
            r = handler.input(ifp, pf, m, frameHeader);
            s.exitVerdict(r);
        } catch (Throwable t) {
            s.threw(t);
            fault("input", t);
            r = Errno.EIO;
        }
        if (r != 0 && r != Errno.EJUSTRETURN) {
            ctx.stats().inc(Stat.LINK_NO_PROTOCOL);
            if (!m.isFree() && m.generation() == gen) m.free();
        }
    }

    /** Sends a packet of this protocol to {@code destination}: pre-output, framing, interface filters, driver. Takes ownership. */
    public void output(PacketContext ctx, Packet m, long destination) {
        if (kernel != null) kernel.output(ctx, ifp, m, destination);
        else outputChecked(ctx, m, destination);
    }

    /** A run of a forwarding vector, each packet to its next hop after {@code pre}. Takes ownership of them all. */
    public void output(PacketContext ctx, Packet[] packets, int[] nextHops, int from, int to, PreOutput pre) {
        if (kernel != null) {
            kernel.output(ctx, ifp, packets, nextHops, from, to, pre);
            return;
        }
        for (int i = from; i < to; i++) {
            Packet m = packets[i];
            packets[i] = null;
            if (pre == null || pre.pass(ctx, m)) outputChecked(ctx, m, nextHops[i] & 0xffffffffL);
        }
    }

    /** As {@link #output(PacketContext, Packet, long)}, with the errno an extension's pre-output or framer gave. */
    int outputChecked(PacketContext ctx, Packet m, long destination) {
        if (kernel != null) {
            kernel.output(ctx, ifp, m, destination);
            return 0;
        }
        FrameInfoImpl frame = ctx.frame.reset(destination);
        ctx.enter();
        try {
            int gen = m.generation();
            CallSlot s = ctx.calls;
            int r;
            try {
                s.enter(this);
                r = handler.preOutput(ifp, pf, m, frame);
                s.exitVerdict(r);
            } catch (Throwable t) {
                s.threw(t);
                fault("pre_output", t);
                r = Errno.EIO;
            }
            if (r == Errno.EJUSTRETURN) return 0;
            if (r != 0) {
                if (!m.isFree() && m.generation() == gen) m.free();
                return r;
            }
            r = ifp.link().frame(ctx, ifp, m, frame);
            if (r != 0) return r == Errno.EJUSTRETURN ? 0 : r;
            ifp.outputFrame(ctx, m, pf);
            return 0;
        } finally {
            ctx.exit();
        }
    }

    void event(PacketContext ctx, KernelEvent e) {
        run(ctx.calls, "event", () -> handler.event(ifp, pf, e));
    }

    int ioctl(long command, Object argument) {
        return call("ioctl", () -> handler.ioctl(ifp, pf, command, argument), Errno.EIO);
    }

    /** The final callback, after the grace period that followed the unpublish. */
    public void detached() {
        finish(removal, "detached", () -> handler.detached(ifp, pf));
    }

    /** Starts removal: false if it had started already. */
    public boolean startRemoval() { return beginDetach(); }

    @Override protected Object target() { return handler; }

    @Override public boolean removeByKernel(Removal why) {
        removal = why;
        onRemove.run();
        return true;
    }
}
