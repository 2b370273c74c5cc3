package org.kextnet.kernel.inet;

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
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;

/**
 * The IP filter heads ({@code ipf_*} in xnu's {@code kpi_ipfilter.c}): one chain for IPv4 and one for IPv6.
 * IPv4 input calls {@link #input} after reassembly, before transport delivery; IPv4 output calls
 * {@link #output} before fragmentation, for locally generated and forwarded packets (xnu's
 * {@code ip_forward} goes through {@code ip_output} and its filters).
 *
 * <p>With no filter in a direction, a head costs one volatile read and a bit test per packet.
 *
 * <p>Each of the first sixteen chain positions calls its filter from a call site of its own: the walk is
 * unrolled into one line per position, alike on purpose. The JIT profiles receiver classes per call site:
 * with one site in a loop, filters of three or more extensions make it megamorphic and every filter costs
 * an interface dispatch that nothing can be inlined through (~15-20 ns per no-op filter measured); with a
 * site per position each sees the one class standing there, and a small filter is inlined into the walk.
 * The lines are straight-line tests rather than a {@code switch} on the position, which compiles to a jump
 * through a table whose target changes at every filter: a mispredicted branch per filter (~10 ns each
 * measured). Positions past sixteen share the last site.
 *
 * <p>Each walk and each call in it are bracketed by the thread's {@link CallSlot} ({@code walkIn}, {@code call},
 * {@code returned}, {@code walkOut}), which lets the watchdog see the call and counts its verdict against the
 * filter.
 */
public final class IpFilters {
    static final int IN = 0, OUT = 1;

    private final Heads heads;
    private final FilterChain<IpFilter> v4;
    private final FilterChain<IpFilter> v6;

    public IpFilters(Heads heads) {
        this.heads = heads;
        this.v4 = new FilterChain<>("ipv4", heads.grace(), 2);
        this.v6 = new FilterChain<>("ipv6", heads.grace(), 2);
    }

    public FilterChain<IpFilter> v4() { return v4; }
    public FilterChain<IpFilter> v6() { return v6; }

    /** One attached IP filter: the kernel's {@code ipfilter_t}. */
    public static final class Entry extends FilterEntry<IpFilter> implements IpFilterRef {
        private final int family;

        Entry(FilterChain<IpFilter> chain, Owner owner, String name, Position position, int priority,
              IpFilter filter, int family) {
            super(chain, owner, Head.IP_FILTER, "ipfilter", name, position, priority, filter, caps(filter));
            this.family = family;
        }

        private static int caps(IpFilter f) {
            int c = 0;
            if (Overrides.overrides(f, IpFilter.class, "input", Mbuf.class, int.class, int.class)) c |= 1 << IN;
            if (Overrides.overrides(f, IpFilter.class, "output", Mbuf.class, IpPacketOptions.class)) c |= 1 << OUT;
            return c;
        }

        @Override public int family() { return family; }
        @Override public void remove() { chain().remove(this, Removal.REQUESTED); }

        @Override public IpFilterRef replace(IpFilter replacement) throws KpiException {
            return chain().replace(this, (c, prio) -> new Entry(c, owner(), name(), position(), prio, replacement, family));
        }

        @Override protected Runnable detached() { return filter::detached; }
    }

    /** {@code ipf_addv4} / {@code ipf_addv6}. */
    public Entry add(Owner owner, int family, String name, Position position, IpFilter filter) throws KpiException {
        owner.checkOpen();
        FilterChain<IpFilter> chain = family == ProtocolFamily.PF_INET6 ? v6 : v4;
        return chain.add(name, position, (c, prio) -> new Entry(c, owner, name, position, prio, filter, family));
    }

    /** Whether an IPv4 output filter is attached (one volatile read). */
    public boolean hasOutput() { return v4.has(OUT); }

    /** Whether an IPv4 input filter is attached (one volatile read). */
    public boolean hasInput() { return v4.has(IN); }

    /**
     * Runs the IPv4 input filters on a packet for this host, from the first filter after {@code resumeAfter}
     * (null: all).
     * @param offset   where the transport header starts, from the IP header
     * @return true to deliver the packet to its transport; false if it is no longer the caller's
     */
    public boolean input(PacketContext ctx, Packet m, int offset, int protocol, FilterEntry<?> resumeAfter) {
        // The walk is a method of its own so that this test, all a packet pays with no filter, stays small
        // enough to be inlined into IP input.
        return resumeAfter == null && !v4.has(IN) || runInput(ctx, m, offset, protocol, resumeAfter);
    }

    private boolean runInput(PacketContext ctx, Packet m, int offset, int protocol, FilterEntry<?> resumeAfter) {
        ctx.enter();
        try {
            FilterChain.Snapshot<IpFilter> s = v4.snapshot();
            return walkInput(ctx, s.with(IN), s.resumeIndex(resumeAfter, IN), m, offset, protocol);
        } finally {
            ctx.exit();
        }
    }

    /** Calls the input filters of {@code a} from index {@code i} on; true if all of them continued. */
    private boolean walkInput(PacketContext ctx, FilterEntry<IpFilter>[] a, int i, Packet m, int offset, int protocol) {
        CallSlot s = ctx.calls;
        long t = s.walkIn(true);
        int n = a.length;
        int gen = m.generation(); // a filter that continues (0) leaves the packet as it was: read once
        int r = 0;
        while (i < n) {
            try {
                // One call site per chain position, unrolled (see the class comment).
                if (i == 0) { s.call(a[0]); r = a[0].filter.input(m, offset, protocol); t = s.returned(a[0], r, t); if (r != 0 || ++i == n) break; }
                if (i == 1) { s.call(a[1]); r = a[1].filter.input(m, offset, protocol); t = s.returned(a[1], r, t); if (r != 0 || ++i == n) break; }
                if (i == 2) { s.call(a[2]); r = a[2].filter.input(m, offset, protocol); t = s.returned(a[2], r, t); if (r != 0 || ++i == n) break; }
                if (i == 3) { s.call(a[3]); r = a[3].filter.input(m, offset, protocol); t = s.returned(a[3], r, t); if (r != 0 || ++i == n) break; }
                if (i == 4) { s.call(a[4]); r = a[4].filter.input(m, offset, protocol); t = s.returned(a[4], r, t); if (r != 0 || ++i == n) break; }
                if (i == 5) { s.call(a[5]); r = a[5].filter.input(m, offset, protocol); t = s.returned(a[5], r, t); if (r != 0 || ++i == n) break; }
                if (i == 6) { s.call(a[6]); r = a[6].filter.input(m, offset, protocol); t = s.returned(a[6], r, t); if (r != 0 || ++i == n) break; }
                if (i == 7) { s.call(a[7]); r = a[7].filter.input(m, offset, protocol); t = s.returned(a[7], r, t); if (r != 0 || ++i == n) break; }
                if (i == 8) { s.call(a[8]); r = a[8].filter.input(m, offset, protocol); t = s.returned(a[8], r, t); if (r != 0 || ++i == n) break; }
                if (i == 9) { s.call(a[9]); r = a[9].filter.input(m, offset, protocol); t = s.returned(a[9], r, t); if (r != 0 || ++i == n) break; }
                if (i == 10) { s.call(a[10]); r = a[10].filter.input(m, offset, protocol); t = s.returned(a[10], r, t); if (r != 0 || ++i == n) break; }
                if (i == 11) { s.call(a[11]); r = a[11].filter.input(m, offset, protocol); t = s.returned(a[11], r, t); if (r != 0 || ++i == n) break; }
                if (i == 12) { s.call(a[12]); r = a[12].filter.input(m, offset, protocol); t = s.returned(a[12], r, t); if (r != 0 || ++i == n) break; }
                if (i == 13) { s.call(a[13]); r = a[13].filter.input(m, offset, protocol); t = s.returned(a[13], r, t); if (r != 0 || ++i == n) break; }
                if (i == 14) { s.call(a[14]); r = a[14].filter.input(m, offset, protocol); t = s.returned(a[14], r, t); if (r != 0 || ++i == n) break; }
                if (i == 15) { s.call(a[15]); r = a[15].filter.input(m, offset, protocol); t = s.returned(a[15], r, t); if (r != 0 || ++i == n) break; }
                for (; i < n; i++) { s.call(a[i]); r = a[i].filter.input(m, offset, protocol); t = s.returned(a[i], r, t); if (r != 0) break; }
                break;
            } catch (Throwable e) {
                t = s.threw(e, t);
                if (faulted(ctx, a[i], "input", e, m, gen)) {
                    s.walkOut(t);
                    return false;
                }
                i++;
            }
        }
        s.walkOut(t);
        if (r == 0) return true;
        stopped(ctx, r, m, gen);
        return false;
    }

    /**
     * Runs the IPv4 output filters on a packet with a complete header, from the first filter after
     * {@code resumeAfter} (null: all).
     * @return 0 to send the packet on; otherwise the packet is no longer the caller's, and the value is what
     *         IP output returns: {@link Errno#EJUSTRETURN} when a filter took it (the caller reports success), or
     *         the filter's error
     */
    public int output(PacketContext ctx, Packet m, IpPacketOptions options, FilterEntry<?> resumeAfter) {
        return resumeAfter == null && !v4.has(OUT) ? 0 : runOutput(ctx, m, options, resumeAfter);
    }

    private int runOutput(PacketContext ctx, Packet m, IpPacketOptions options, FilterEntry<?> resumeAfter) {
        ctx.enter();
        try {
            FilterChain.Snapshot<IpFilter> s = v4.snapshot();
            return walkOutput(ctx, s.with(OUT), s.resumeIndex(resumeAfter, OUT), m, options);
        } finally {
            ctx.exit();
        }
    }

    /**
     * The IPv4 output filters attached now, for a caller that runs them on many packets ({@link
     * #output(PacketContext, FilterEntry[], Packet)}): null if there are none. Valid while the caller stays in
     * the read-side section it took them in.
     */
    public FilterEntry<IpFilter>[] outputChain() {
        return v4.has(OUT) ? v4.snapshot().with(OUT) : null;
    }

    /**
     * Runs the output filters of {@code chain} (from {@link #outputChain()}, taken in the caller's current
     * read-side section) on a forwarded packet; the result as {@link #output(PacketContext, Packet,
     * IpPacketOptions, FilterEntry)}.
     */
    public int output(PacketContext ctx, FilterEntry<IpFilter>[] chain, Packet m) {
        return walkOutput(ctx, chain, 0, m, null);
    }

    /** Calls the output filters of {@code a} from index {@code i} on. */
    private int walkOutput(PacketContext ctx, FilterEntry<IpFilter>[] a, int i, Packet m, IpPacketOptions options) {
        CallSlot s = ctx.calls;
        long t = s.walkIn(true);
        int n = a.length;
        int gen = m.generation(); // a filter that continues (0) leaves the packet as it was: read once
        int r = 0;
        while (i < n) {
            try {
                // One call site per chain position, unrolled (see the class comment).
                if (i == 0) { s.call(a[0]); r = a[0].filter.output(m, options); t = s.returned(a[0], r, t); if (r != 0 || ++i == n) break; }
                if (i == 1) { s.call(a[1]); r = a[1].filter.output(m, options); t = s.returned(a[1], r, t); if (r != 0 || ++i == n) break; }
                if (i == 2) { s.call(a[2]); r = a[2].filter.output(m, options); t = s.returned(a[2], r, t); if (r != 0 || ++i == n) break; }
                if (i == 3) { s.call(a[3]); r = a[3].filter.output(m, options); t = s.returned(a[3], r, t); if (r != 0 || ++i == n) break; }
                if (i == 4) { s.call(a[4]); r = a[4].filter.output(m, options); t = s.returned(a[4], r, t); if (r != 0 || ++i == n) break; }
                if (i == 5) { s.call(a[5]); r = a[5].filter.output(m, options); t = s.returned(a[5], r, t); if (r != 0 || ++i == n) break; }
                if (i == 6) { s.call(a[6]); r = a[6].filter.output(m, options); t = s.returned(a[6], r, t); if (r != 0 || ++i == n) break; }
                if (i == 7) { s.call(a[7]); r = a[7].filter.output(m, options); t = s.returned(a[7], r, t); if (r != 0 || ++i == n) break; }
                if (i == 8) { s.call(a[8]); r = a[8].filter.output(m, options); t = s.returned(a[8], r, t); if (r != 0 || ++i == n) break; }
                if (i == 9) { s.call(a[9]); r = a[9].filter.output(m, options); t = s.returned(a[9], r, t); if (r != 0 || ++i == n) break; }
                if (i == 10) { s.call(a[10]); r = a[10].filter.output(m, options); t = s.returned(a[10], r, t); if (r != 0 || ++i == n) break; }
                if (i == 11) { s.call(a[11]); r = a[11].filter.output(m, options); t = s.returned(a[11], r, t); if (r != 0 || ++i == n) break; }
                if (i == 12) { s.call(a[12]); r = a[12].filter.output(m, options); t = s.returned(a[12], r, t); if (r != 0 || ++i == n) break; }
                if (i == 13) { s.call(a[13]); r = a[13].filter.output(m, options); t = s.returned(a[13], r, t); if (r != 0 || ++i == n) break; }
                if (i == 14) { s.call(a[14]); r = a[14].filter.output(m, options); t = s.returned(a[14], r, t); if (r != 0 || ++i == n) break; }
                if (i == 15) { s.call(a[15]); r = a[15].filter.output(m, options); t = s.returned(a[15], r, t); if (r != 0 || ++i == n) break; }
                for (; i < n; i++) { s.call(a[i]); r = a[i].filter.output(m, options); t = s.returned(a[i], r, t); if (r != 0) break; }
                break;
            } catch (Throwable e) {
                t = s.threw(e, t);
                if (faulted(ctx, a[i], "output", e, m, gen)) {
                    s.walkOut(t);
                    return Errno.EIO;
                }
                i++;
            }
        }
        s.walkOut(t);
        return r == 0 ? 0 : stopped(ctx, r, m, gen);
    }

    private static int stopped(PacketContext ctx, int r, Packet m, int gen) {
        if (r == Errno.EJUSTRETURN) {
            ctx.stats().inc(Stat.IP_FILTER_TAKEN);
        } else {
            ctx.stats().inc(Stat.IP_FILTERED);
            if (!m.isFree() && m.generation() == gen) m.free();
        }
        return r;
    }

    /**
     * A filter threw, or was refused (its extension is stuck): count it, maybe quarantine it; true if the packet
     * was dropped (the fail-safe).
     */
    private boolean faulted(PacketContext ctx, FilterEntry<IpFilter> e, String callback, Throwable t, Packet m, int gen) {
        ctx.stats().inc(t == CallSlot.REFUSED ? Stat.NKE_REFUSED : Stat.NKE_FAULTS);
        e.fault(callback, t);
        if (heads.policy().ipFailPass()) return false;
        ctx.stats().inc(Stat.NKE_FAULT_DROPS);
        if (!m.isFree() && m.generation() == gen) m.free();
        return true;
    }
}
