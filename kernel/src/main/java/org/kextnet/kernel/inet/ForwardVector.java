package org.kextnet.kernel.inet;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.FilterEntry;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.PreOutput;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.Scratch;
import org.kextnet.kpi.ipfilter.IpFilter;

/**
 * Packets IPv4 input has decided to forward, held to be sent as one vector (VPP's frame between two graph
 * nodes): each with its outgoing interface and next hop. Output then runs once per run of packets to the
 * same interface, with that interface's checks, filter-head tests and link-address lookup done once per
 * run instead of once per packet.
 *
 * <p>One per packet thread ({@link org.kextnet.kernel.net.PacketContext}); not thread-safe.
 */
public final class ForwardVector implements PacketContext.Discardable {
    /** The vector of each packet thread. */
    static final Scratch<ForwardVector> KEY = Scratch.of(ForwardVector::new);

    /** Packets held at most; a full vector is sent before the next packet is added. */
    public static final int CAPACITY = 64;

    final Packet[] packets = new Packet[CAPACITY];
    final Interface[] interfaces = new Interface[CAPACITY];
    final int[] nextHops = new int[CAPACITY];
    int size;

    private final Filters filters = new Filters();

    boolean isFull() { return size == CAPACITY; }

    /**
     * The IP output filters for one send of this vector, with the chain taken now (the caller stays in its
     * read-side section until {@link Filters#done()}); null if no output filter is attached.
     */
    Filters filters(IpFilters head) {
        FilterEntry<IpFilter>[] chain = head.outputChain();
        if (chain == null) return null;
        filters.head = head;
        filters.chain = chain;
        filters.passed = 0;
        return filters;
    }

    /** The IP output filters run on each packet just before it is framed, and a count of those that pass. */
    static final class Filters implements PreOutput {
        private IpFilters head;
        private FilterEntry<IpFilter>[] chain;
        private int passed;

        @Override public boolean pass(PacketContext ctx, Packet m) {
            if (head.output(ctx, chain, m) != 0) return false; // taken or dropped by a filter
            passed++;
            return true;
        }

        /** Forgets the chain; returns how many packets passed. */
        int done() {
            chain = null;
            return passed;
        }
    }

    /**
     * Frees the packets still held and empties the vector: after a kernel bug escaped a vector stage (see
     * {@link PacketContext#discardVectors()}). Packets already handed on are no longer here.
     */
    @Override public void discard(PacketContext ctx) {
        for (int i = 0; i < CAPACITY; i++) {
            Packet m = packets[i];
            packets[i] = null;
            interfaces[i] = null;
            if (m != null) ctx.free(m);
        }
        size = 0;
        filters.done();
    }

    void add(Packet m, Interface ifp, int nextHop) {
        int i = size++;
        packets[i] = m;
        interfaces[i] = ifp;
        nextHops[i] = nextHop;
    }
}
