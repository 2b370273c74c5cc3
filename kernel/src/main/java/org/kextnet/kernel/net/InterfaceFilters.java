package org.kextnet.kernel.net;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.hook.FilterChain;
import org.kextnet.kernel.hook.FilterEntry;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.Heads;
import org.kextnet.kernel.hook.Overrides;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.interfacefilter.InterfaceFilterRef;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * The interface filter head of one interface ({@code iflt_*} in xnu's dlil): input after demux with the
 * frame header apart, output with the whole frame before the driver, events and ioctls. Filters run in chain
 * order; each sees only frames of its protocol selector (0 = all).
 */
public final class InterfaceFilters {
    static final int IN = 0, OUT = 1, EVENT = 2, IOCTL = 3;
    private static final int CAP_BITS = 4;

    private final Interface ifp;
    private final FilterChain<InterfaceFilter> chain;

    private final Heads heads;

    InterfaceFilters(Interface ifp, Heads heads) {
        this.ifp = ifp;
        this.heads = heads;
        this.chain = new FilterChain<>(ifp.name(), heads.grace(), CAP_BITS);
    }

    public FilterChain<InterfaceFilter> chain() { return chain; }

    /** One attached filter: the kernel's {@code interface_filter_t}. */
    public static final class Entry extends FilterEntry<InterfaceFilter> implements InterfaceFilterRef {
        final int protocol;
        private final Interface ifp;

        Entry(FilterChain<InterfaceFilter> chain, Owner owner, String name, Position position, int priority,
              InterfaceFilter filter, Interface ifp, int protocol) {
            super(chain, owner, Head.INTERFACE_FILTER, "iff", name, position, priority, filter, caps(filter));
            this.ifp = ifp;
            this.protocol = protocol;
        }

        private static int caps(InterfaceFilter f) {
            int c = 0;
            if (Overrides.overrides(f, InterfaceFilter.class, "input", Ifnet.class, int.class, Mbuf.class, int.class)) c |= 1 << IN;
            if (Overrides.overrides(f, InterfaceFilter.class, "output", Ifnet.class, int.class, Mbuf.class)) c |= 1 << OUT;
            if (Overrides.overrides(f, InterfaceFilter.class, "event", Ifnet.class, int.class, KernelEvent.class)) c |= 1 << EVENT;
            if (Overrides.overrides(f, InterfaceFilter.class, "ioctl", Ifnet.class, int.class, long.class, Object.class)) c |= 1 << IOCTL;
            return c;
        }

        @Override public Ifnet ifnet() { return ifp; }
        @Override public int protocolFamily() { return protocol; }
        @Override public void detach() { chain().remove(this, Removal.REQUESTED); }

        @Override public InterfaceFilterRef replace(InterfaceFilter replacement) throws KpiException {
            return chain().replace(this, (c, prio) -> new Entry(c, owner(), name(), position(), prio, replacement, ifp, protocol));
        }

        @Override protected Runnable detached() { return () -> filter.detached(ifp); }
    }

    /** {@code iflt_attach}. */
    public Entry attach(Owner owner, String name, int protocol, Position position, InterfaceFilter filter)
            throws KpiException {
        if (!ifp.isAttached()) throw new KpiException(Errno.ENXIO, ifp.name() + " is detached");
        return chain.add(name, position, (c, prio) -> new Entry(c, owner, name, position, prio, filter, ifp, protocol));
    }

    /** Whether any filter watches input; one volatile read. */
    public boolean hasInput() { return chain.has(IN); }

    /** Whether any filter watches output; one volatile read. */
    public boolean hasOutput() { return chain.has(OUT); }

    /**
     * Runs the input filters on a received frame whose data starts after its frame header.
     * @return true to continue to the protocol; false if a filter took, dropped or failed the frame (it is
     *         no longer the caller's)
     */
    public boolean input(PacketContext ctx, int protocol, Packet m, int frameHeader) {
        return run(ctx, true, protocol, m, frameHeader);
    }

    /**
     * Runs the output filters on a finished frame.
     * @return true to hand it to the driver; false if it is no longer the caller's
     */
    public boolean output(PacketContext ctx, int protocol, Packet m) {
        return run(ctx, false, protocol, m, 0);
    }

    /** One walk of the input or output chain; {@code frameHeader} is used on input only. */
    private boolean run(PacketContext ctx, boolean in, int protocol, Packet m, int frameHeader) {
        int direction = in ? IN : OUT;
        if (!chain.has(direction)) return true;
        ctx.enter();
        try {
            CallSlot s = ctx.calls;
            long t = s.walkIn(true);
            FilterEntry<InterfaceFilter>[] a = chain.snapshot().with(direction);
            for (FilterEntry<InterfaceFilter> fe : a) {
                Entry e = (Entry) fe;
                if (e.protocol != 0 && e.protocol != protocol) continue;
                int gen = m.generation();
                int r;
                try {
                    s.call(e);
                    r = in ? e.filter.input(ifp, protocol, m, frameHeader) : e.filter.output(ifp, protocol, m);
                    t = s.returned(e, r, t);
                } catch (Throwable x) {
                    t = s.threw(x, t);
                    if (faulted(ctx, e, in ? "input" : "output", x, m, gen)) {
                        s.walkOut(t);
                        return false;
                    }
                    continue;
                }
                if (r != 0) {
                    s.walkOut(t);
                    return stopped(ctx, r, m, gen);
                }
            }
            s.walkOut(t);
            return true;
        } finally {
            ctx.exit();
        }
    }

    /** Gives an event to every filter that observes events ({@code iff_event}). */
    public void event(PacketContext ctx, KernelEvent event) {
        if (!chain.has(EVENT)) return;
        ctx.enter();
        try {
            CallSlot s = ctx.calls;
            for (FilterEntry<InterfaceFilter> fe : chain.snapshot().with(EVENT)) {
                Entry e = (Entry) fe;
                try {
                    s.enter(e);
                    e.filter.event(ifp, e.protocol, event);
                    s.exit();
                } catch (Throwable t) {
                    s.threw(t);
                    ctx.stats().inc(t == CallSlot.REFUSED ? Stat.NKE_REFUSED : Stat.NKE_FAULTS);
                    e.fault("event", t);
                }
            }
        } finally {
            ctx.exit();
        }
    }

    /**
     * Runs the ioctl filters ({@code iff_ioctl}): EOPNOTSUPP continues, 0 records "handled" and continues,
     * EJUSTRETURN stops with success, another errno stops with it.
     * @return {@link Errno#EJUSTRETURN} if a filter stopped with success, 0 if one handled it, EOPNOTSUPP if
     *         none did, else the error
     */
    public int ioctl(PacketContext ctx, int protocol, long command, Object argument) {
        int result = Errno.EOPNOTSUPP;
        if (!chain.has(IOCTL)) return result;
        ctx.enter();
        try {
            CallSlot s = ctx.calls;
            for (FilterEntry<InterfaceFilter> fe : chain.snapshot().with(IOCTL)) {
                Entry e = (Entry) fe;
                if (e.protocol != 0 && protocol != 0 && e.protocol != protocol) continue;
                int r;
                try {
                    s.enter(e);
                    r = e.filter.ioctl(ifp, protocol, command, argument);
                    s.exit();
                } catch (Throwable t) {
                    s.threw(t);
                    ctx.stats().inc(t == CallSlot.REFUSED ? Stat.NKE_REFUSED : Stat.NKE_FAULTS);
                    e.fault("ioctl", t);
                    return Errno.EIO;
                }
                if (r == Errno.EOPNOTSUPP) continue;
                if (r == 0) { result = 0; continue; }
                return r;
            }
            return result;
        } finally {
            ctx.exit();
        }
    }

    private boolean stopped(PacketContext ctx, int r, Packet m, int gen) {
        if (r == Errno.EJUSTRETURN) {
            ctx.stats().inc(Stat.LINK_FILTER_TAKEN);
        } else {
            ctx.stats().inc(Stat.LINK_FILTERED);
            ifp.counters().inc(IfCounters.IDROPS);
            freeIfStillOurs(m, gen);
        }
        return false;
    }

    /** A filter threw or was refused: count, maybe quarantine; returns true if the frame was dropped (fail-safe). */
    private boolean faulted(PacketContext ctx, Entry e, String callback, Throwable t, Packet m, int gen) {
        ctx.stats().inc(t == CallSlot.REFUSED ? Stat.NKE_REFUSED : Stat.NKE_FAULTS);
        e.fault(callback, t);
        if (heads.policy().ifaceFailPass()) return false;
        ctx.stats().inc(Stat.NKE_FAULT_DROPS);
        freeIfStillOurs(m, gen);
        return true;
    }

    /** Frees a packet a filter gave up, unless the filter already freed it (and the buffer moved on). */
    static void freeIfStillOurs(Packet m, int gen) {
        if (!m.isFree() && m.generation() == gen) m.free();
    }

    /** Detaches every filter (the interface is going away). */
    void close() { chain.close(); }
}
