package org.kextnet.kernel.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Interfaces;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.ProtocolAttachment;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.GracePeriod;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.protocol.ProtocolHandler;
import org.kextnet.kpi.protocol.ProtocolInput;
import org.kextnet.kpi.protocol.ProtocolKpi;
import org.kextnet.kpi.protocol.ProtocolPlumber;

/**
 * Protocol plumbers, protocol attachments and protocol inputs ({@code kpi_protocol.c} and the attach half of
 * {@code dlil.c}). When an interface attaches, every plumber registered for its family plumbs its protocol;
 * the kernel's own IPv4 over Ethernet, TUN and loopback is one such plumber ({@link InetPlumber}), so an
 * administrator or an extension that unplumbs it stops IPv4 on that interface, and plumbing it again
 * restores it. The registry's lock guards only its tables: plumbers and handlers run without it.
 */
public final class Protocols implements Interfaces.Observer {
    private final Interfaces interfaces;
    private final GracePeriod grace;
    private final Contexts contexts;
    private final List<PlumberEntry> plumbers = new ArrayList<>();
    private final Map<Integer, InputEntry> inputs = new ConcurrentHashMap<>();

    public Protocols(Interfaces interfaces) {
        this.interfaces = interfaces;
        this.grace = interfaces.heads().grace();
        this.contexts = interfaces.contexts();
        interfaces.observe(this);
    }

    // ---- plumbers ----

    public final class PlumberEntry extends KernelRegistration implements ProtocolKpi.PlumberRef {
        final int pf;
        final IfnetFamily family;
        final ProtocolPlumber plumber;

        PlumberEntry(Owner owner, int pf, IfnetFamily family, ProtocolPlumber plumber) {
            super(owner, Head.PROTOCOL, "plumber", org.kextnet.kpi.net.ProtocolFamily.name(pf) + "/" + family.name().toLowerCase());
            this.pf = pf;
            this.family = family;
            this.plumber = plumber;
        }

        @Override public int protocolFamily() { return pf; }
        @Override public IfnetFamily interfaceFamily() { return family; }
        boolean beginDetachForRegistry() { return beginDetach(); }
        void end(Removal why) { finishDetach(why); }
        @Override public void unregister() { unregisterPlumber(this, Removal.REQUESTED); }
        @Override public boolean removeByKernel(Removal why) {
            unregisterPlumber(this, why);
            return true;
        }
        @Override protected Object target() { return plumber; }
    }

    public PlumberEntry registerPlumber(Owner owner, int pf, IfnetFamily family, ProtocolPlumber plumber) throws KpiException {
        owner.checkOpen();
        PlumberEntry e = new PlumberEntry(owner, pf, family, plumber);
        synchronized (this) {
            for (PlumberEntry p : plumbers) {
                if (p.pf == pf && p.family == family) throw new KpiException(Errno.EEXIST, "a plumber for " + e.name() + " is registered");
            }
            plumbers.add(e);
        }
        owner.record(e);
        for (Interface ifp : interfaces.list()) if (ifp.ifnetFamily() == family) plumb(e, ifp);
        return e;
    }

    private void unregisterPlumber(PlumberEntry e, Removal why) {
        if (!e.isActive()) return;
        synchronized (this) {
            plumbers.remove(e);
        }
        for (Interface ifp : interfaces.list()) if (ifp.ifnetFamily() == e.family) unplumb(e, ifp);
        if (e.beginDetachForRegistry()) grace.defer(() -> e.end(why));
    }

    private synchronized PlumberEntry plumberFor(int pf, IfnetFamily family) {
        for (PlumberEntry p : plumbers) if (p.pf == pf && p.family == family) return p;
        return null;
    }

    private int plumb(PlumberEntry e, Ifnet ifp) {
        if (ifp.isAttached() && ((Interface) ifp).protocols().byFamily(e.pf) != null) return Errno.EEXIST;
        return e.call("plumb", () -> e.plumber.plumb(ifp, e.pf), Errno.EIO);
    }

    private void unplumb(PlumberEntry e, Interface ifp) {
        CallSlot s = contexts.acquireSlot();
        try {
            s.enter(e);
            e.plumber.unplumb(ifp, e.pf);
            s.exit();
        } catch (Throwable t) {
            s.threw(t);
            e.countFault("unplumb", t); // counted only: the plumber is going already
        } finally {
            contexts.releaseSlot(s);
        }
        if (ifp.protocols().byFamily(e.pf) != null) detach(ifp, e.pf); // the default unplumb
    }

    /** An interface attached: every plumber for its family plumbs (the kernel's IPv4 among them). */
    @Override public void attached(Interface ifp) {
        List<PlumberEntry> l;
        synchronized (this) {
            l = new ArrayList<>(plumbers);
        }
        for (PlumberEntry e : l) if (e.family == ifp.ifnetFamily()) plumb(e, ifp);
    }

    /** An interface is detaching: every protocol detaches from it. */
    @Override public void detaching(Interface ifp) {
        for (ProtocolAttachment pa : ifp.protocols().all()) detach(ifp, pa.protocolFamily());
    }

    /**
     * Plumbs {@code pf} on {@code ifp} with the plumber registered for the interface's family (an
     * administrator's {@code ifconfig IF plumb inet}).
     * @return 0, ENOENT (no plumber), EEXIST (already plumbed), or the plumber's error
     */
    public int plumb(Interface ifp, int pf) {
        PlumberEntry e = plumberFor(pf, ifp.ifnetFamily());
        return e == null ? Errno.ENOENT : plumb(e, ifp);
    }

    /** Unplumbs {@code pf} from {@code ifp} ({@code ifconfig IF unplumb inet}). @return 0 or ENOENT */
    public int unplumb(Interface ifp, int pf) {
        if (ifp.protocols().byFamily(pf) == null) return Errno.ENOENT;
        PlumberEntry e = plumberFor(pf, ifp.ifnetFamily());
        if (e != null) unplumb(e, ifp);
        else detach(ifp, pf);
        return 0;
    }

    // ---- attachments ----

    /** {@code ifnet_attach_protocol}. */
    public ProtocolAttachment attach(Owner owner, Ifnet ifnet, int pf, List<DemuxDescriptor> demux,
                                     ProtocolHandler handler) throws KpiException {
        owner.checkOpen();
        if (!(ifnet instanceof Interface ifp) || ifp.table() != interfaces) throw new KpiException(Errno.EINVAL, "not an interface of this kernel");
        if (handler == null || pf <= 0 || pf > org.kextnet.kpi.net.ProtocolFamily.PF_MAX) throw new KpiException(Errno.EINVAL, "bad protocol family or handler");
        if (demux == null || demux.isEmpty()) throw new KpiException(Errno.EINVAL, "no demux descriptors");
        int refused = ifp.addProtocol(pf, demux);
        if (refused != 0) throw new KpiException(refused, "interface " + ifp.name() + " refused protocol " + pf);
        ProtocolAttachment pa = new ProtocolAttachment(owner, ifp, pf, demux, handler, () -> detach(ifp, pf));
        synchronized (this) {
            if (!ifp.isAttached()) throw new KpiException(Errno.ENXIO, ifp.name() + " is detached");
            if (ifp.protocols().byFamily(pf) != null) throw new KpiException(Errno.EEXIST, "protocol " + pf + " is attached to " + ifp.name());
            if (ifp.protocols().conflicts(demux)) throw new KpiException(Errno.EEXIST, "demux descriptors taken on " + ifp.name());
            ifp.setProtocols(ifp.protocols().with(pa));
        }
        owner.record(pa);
        postProtoEvent(ifp, KernelEvents.KEV_DL_PROTO_ATTACHED, pf);
        return pa;
    }

    /** {@code ifnet_detach_protocol}: unpublishes now, {@code detached} after a grace period. */
    public int detach(Interface ifp, int pf) {
        ProtocolAttachment pa;
        synchronized (this) {
            pa = ifp.protocols().byFamily(pf);
            if (pa == null || !pa.startRemoval()) return Errno.ENOENT;
            ifp.setProtocols(ifp.protocols().without(pa));
        }
        ifp.delProtocol(pf);
        postProtoEvent(ifp, KernelEvents.KEV_DL_PROTO_DETACHED, pf);
        grace.defer(pa::detached);
        return 0;
    }

    private void postProtoEvent(Interface ifp, int code, int pf) {
        // kev_dl_proto_data: net_event_data, proto_family, proto_remaining_count
        byte[] d = ifp.eventData().encode(8).putInt(pf).putInt(ifp.protocols().all().size()).array();
        ifp.deliverEvent(org.kextnet.kpi.event.KernelEvent.of(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS,
                KernelEvents.KEV_DL_SUBCLASS, code, d));
    }

    // ---- protocol inputs ----

    public final class InputEntry extends KernelRegistration implements ProtocolKpi.InputRef {
        final int pf;
        final ProtocolInput input;

        InputEntry(Owner owner, int pf, ProtocolInput input) {
            super(owner, Head.PROTOCOL, "proto-input", org.kextnet.kpi.net.ProtocolFamily.name(pf));
            this.pf = pf;
            this.input = input;
        }

        @Override public int protocolFamily() { return pf; }
        @Override public void unregister() { unregisterInput(pf, Removal.REQUESTED); }
        boolean beginDetachForRegistry() { return beginDetach(); }
        void end(Removal why) { finish(why, "detached", () -> input.detached(pf)); }
        @Override public boolean removeByKernel(Removal why) {
            unregisterInput(pf, why);
            return true;
        }
        @Override protected Object target() { return input; }
    }

    public InputEntry registerInput(Owner owner, int pf, ProtocolInput input) throws KpiException {
        owner.checkOpen();
        InputEntry e = new InputEntry(owner, pf, input);
        if (inputs.putIfAbsent(pf, e) != null) throw new KpiException(Errno.EEXIST, "protocol " + pf + " has an input");
        owner.record(e);
        return e;
    }

    public int unregisterInput(int pf) { return unregisterInput(pf, Removal.REQUESTED); }

    private int unregisterInput(int pf, Removal why) {
        InputEntry e = inputs.get(pf);
        if (e == null || !e.beginDetachForRegistry()) return Errno.ENOENT;
        inputs.remove(pf, e);
        grace.defer(() -> e.end(why));
        return 0;
    }

    /**
     * {@code proto_input} / {@code proto_inject}: takes ownership only on success.
     * @return 0, EINVAL (an IPv4 packet without its receiving interface, which IP input needs), ENOENT (no
     *         input for the family)
     */
    public int input(int pf, Packet m) {
        if (pf == org.kextnet.kpi.net.ProtocolFamily.PF_INET && !(m.rcvif() instanceof Interface i && i.table() == interfaces)) {
            return Errno.EINVAL;
        }
        PacketContext ctx = contexts.acquire();
        ctx.enter(); // before the lookup, so that an unregistering input's detached waits for this call
        try {
            InputEntry e = inputs.get(pf);
            if (e == null || !e.isActive()) return Errno.ENOENT;
            int gen = m.generation();
            CallSlot s = ctx.calls;
            try {
                s.enter(e);
                e.input.input(pf, m);
                s.exit();
            } catch (Throwable t) {
                s.threw(t);
                ctx.stats().inc(t == CallSlot.REFUSED ? Stat.NKE_REFUSED : Stat.NKE_FAULTS);
                if (!m.isFree() && m.generation() == gen) { // it threw before passing the packet on: drop it
                    ctx.stats().inc(Stat.NKE_FAULT_DROPS);
                    m.free();
                }
                e.fault("input", t);
            }
            return 0;
        } finally {
            ctx.exit();
            contexts.release(ctx);
        }
    }

    /** Status lines: plumbers, then every interface's attached protocols. */
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        synchronized (this) {
            for (PlumberEntry p : plumbers) l.add(p.describe() + " [" + p.owner().name() + "]");
        }
        for (Interface ifp : interfaces.list()) {
            for (ProtocolAttachment pa : ifp.protocols().all()) l.add(pa.describe() + " " + pa.demux() + " [" + pa.owner().name() + "]");
        }
        return l;
    }
}
