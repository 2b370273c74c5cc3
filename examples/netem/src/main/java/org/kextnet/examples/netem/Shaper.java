package org.kextnet.examples.netem;

import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.interfacefilter.InterfaceFilterRef;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * netem's interface filter on one interface: each direction has a {@link Qdisc} or none. A frame netem re-injects
 * runs through every interface filter again, this one included: it carries netem's tag for that direction (set on
 * every frame netem has seen, the rule for filters that re-inject), so it passes at once and is not impaired twice.
 *
 * <p>Tags travel with the buffer, not with the packet's meaning: the stack may send a received buffer back out (an
 * ICMP echo reply is the request turned round), and on loopback what went out comes back in. So a frame coming in
 * loses netem's output tag and a frame going out its input tag: neither can be netem's own re-injection.
 */
final class Shaper implements InterfaceFilter {
    /** Tag types: seen on input, seen on output (a frame that crossed a wire from another kernel keeps its tags). */
    static final int SEEN_IN = 1, SEEN_OUT = 2;

    final Ifnet ifp;
    private final int tag;
    volatile Qdisc in, out;
    volatile InterfaceFilterRef ref;
    /** Set once the filter's detached callback ran. */
    volatile boolean detached;

    Shaper(Ifnet ifp, int tag) {
        this.ifp = ifp;
        this.tag = tag;
    }

    /** The frame's data starts at its network header; its link header lies from {@code frameHeader} to the data. */
    @Override public int input(Ifnet ifp, int protocolFamily, Mbuf m, int frameHeader) {
        m.tagFree(tag, SEEN_OUT);
        Qdisc q = in;
        if (q == null || seen(m, SEEN_IN)) return 0;
        return q.enqueue(m, protocolFamily, m.offset() - frameHeader);
    }

    @Override public int output(Ifnet ifp, int protocolFamily, Mbuf m) {
        m.tagFree(tag, SEEN_IN);
        Qdisc q = out;
        if (q == null || seen(m, SEEN_OUT)) return 0;
        return q.enqueue(m, protocolFamily, 0);
    }

    /** Whether netem has seen {@code m} in this direction; tags it if not. */
    private boolean seen(Mbuf m, int type) {
        if (m.tagFind(tag, type) != null) return true;
        m.tagAllocate(tag, type, 1);
        return false;
    }

    /** Held frames are freed: nothing will re-inject them through this filter now. */
    @Override public void detached(Ifnet ifp) {
        Qdisc q = in;
        if (q != null) q.drop();
        q = out;
        if (q != null) q.drop();
        detached = true;
    }
}
