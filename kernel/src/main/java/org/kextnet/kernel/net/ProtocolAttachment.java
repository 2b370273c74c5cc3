package org.kextnet.kernel.net;

import java.util.List;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.nke.KernelRegistration;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.protocol.ProtocolHandler;
import org.kextnet.kpi.protocol.ProtocolKpi;

/**
 * A protocol family attached to one interface ({@code if_proto}): its demux descriptors and its handler.
 * The kernel's own protocols carry a {@link KernelProtocolHandler} for the packet path; an extension's
 * handler is called through the KPI, guarded.
 */
public final class ProtocolAttachment extends KernelRegistration implements ProtocolKpi.AttachmentRef {
    private final Interface ifp;
    private final int pf;
    private final List<DemuxDescriptor> demux;
    final ProtocolHandler handler;
    /** Non-null for the kernel's own protocols: their packet path. */
    final KernelProtocolHandler kernel;
    private final Runnable onRemove;

    public ProtocolAttachment(ExtensionHandle owner, Interface ifp, int pf, List<DemuxDescriptor> demux,
                              ProtocolHandler handler, KernelProtocolHandler kernel, Runnable onRemove) {
        super(owner, "proto", ifp.name() + ":" + org.kextnet.kpi.net.ProtocolFamily.name(pf));
        this.ifp = ifp;
        this.pf = pf;
        this.demux = List.copyOf(demux);
        this.handler = handler;
        this.kernel = kernel;
        this.onRemove = onRemove;
    }

    @Override public Ifnet ifnet() { return ifp; }
    @Override public int protocolFamily() { return pf; }
    @Override public List<DemuxDescriptor> demux() { return demux; }
    public ProtocolHandler handler() { return handler; }
    /** The kernel's own packet path for this protocol, or null for an extension's protocol. */
    public KernelProtocolHandler kernelHandler() { return kernel; }

    /** Hands a demuxed frame to the protocol (after the interface filters). Takes ownership. */
    void input(PacketContext ctx, Packet m, int frameHeader) {
        if (kernel != null) {
            kernel.input(ctx, ifp, m, frameHeader);
            return;
        }
        int gen = m.generation();
        int r;
        try {
            r = handler.input(ifp, pf, m, frameHeader);
        } catch (Throwable t) {
            fault("input", t);
            r = Errno.EIO;
        }
        if (r != 0 && r != Errno.EJUSTRETURN) {
            ctx.stats().inc(Stat.LINK_NO_PROTOCOL);
            if (!m.isFree() && m.generation() == gen) m.free();
        }
    }

    /** Sends a packet of this protocol: pre-output, framing, interface filters, driver. Takes ownership. */
    int output(PacketContext ctx, Packet m, long destination) {
        if (kernel != null) {
            kernel.output(ctx, ifp, m, destination);
            return 0;
        }
        FrameInfoImpl frame = ctx.frame.reset(destination);
        ctx.enter();
        try {
            int gen = m.generation();
            int r;
            try {
                r = handler.preOutput(ifp, pf, m, frame);
            } catch (Throwable t) {
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

    void event(KernelEvent e) {
        try {
            handler.event(ifp, pf, e);
        } catch (Throwable t) {
            fault("event", t);
        }
    }

    int ioctl(long command, Object argument) {
        try {
            return handler.ioctl(ifp, pf, command, argument);
        } catch (Throwable t) {
            fault("ioctl", t);
            return Errno.EIO;
        }
    }

    /** The final callback, after the grace period that followed the unpublish. */
    public void detached(boolean faulted) {
        try {
            handler.detached(ifp, pf);
        } catch (Throwable t) {
            countFault("detached", t);
        }
        finishDetach(faulted);
    }

    /** Starts removal: false if it had started already. */
    public boolean startRemoval() { return beginDetach(); }

    private void fault(String callback, Throwable t) {
        if (countFault(callback, t)) removeByKernel(true);
    }

    /** Whether the current removal is a quarantine. */
    public volatile boolean faultedRemoval;

    @Override protected boolean removeByKernel(boolean faulted) {
        faultedRemoval = faulted;
        onRemove.run();
        return true;
    }
}
