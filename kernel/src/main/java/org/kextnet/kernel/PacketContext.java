package org.kextnet.kernel;

import org.kextnet.kernel.buf.BufferCache;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.ForwardVector;
import org.kextnet.kernel.inet.InputRouteCache;
import org.kextnet.kernel.nke.GracePeriod;
import org.kextnet.kernel.stat.StatCells;

/**
 * The state a thread needs to run packet code: its own counters, its kernel, and its place in the kernel's
 * grace periods. A driver's reader thread makes one and passes it down the input path; any other thread
 * (an application sending, the timer) gets its own from {@link Kernel#context()}. Passing it explicitly
 * keeps thread-local lookups off the per-packet path. Owned by one thread; not thread-safe.
 *
 * <p>{@link #enter()} and {@link #exit()} bracket a read-side section: while inside, no filter this thread
 * may have seen gets its {@code detached} call. Sections nest; only the outermost touches the shared
 * counters, so a reader thread enters once per batch and the filter heads' own enter costs a field
 * increment.
 */
public final class PacketContext {
    private final Kernel kernel;
    private final StatCells stats;
    private final GracePeriod grace;
    private final int stripe;
    private int depth;
    private int token;
    /** The frame description this thread reuses between a protocol's pre-output and the framer. */
    public final org.kextnet.kernel.net.FrameInfoImpl frame = new org.kextnet.kernel.net.FrameInfoImpl();
    /** IPv4 input's decision for the last addresses this thread saw. */
    public final InputRouteCache routeCache = new InputRouteCache();
    /**
     * Received IPv4 packets a link layer gathers from one batch for IPv4 input to take as a vector (see
     * {@link org.kextnet.kernel.net.Interface#input(PacketContext, Packet[], int)}).
     */
    public final Packet[] ipv4Vector = new Packet[ForwardVector.CAPACITY];
    /** The packets IPv4 input forwards from one vector, waiting for output. */
    public final ForwardVector forwardVector = new ForwardVector();
    /**
     * Whether this thread is inside a vector of received packets: a batch that arrives meanwhile (an
     * extension's input from a callback) goes through the stack one packet at a time, leaving the vectors
     * in use alone.
     */
    public boolean inVector;
    /** A socket address this thread reuses to pass senders to socket filters (valid during the call only). */
    public final org.kextnet.kpi.socket.SockAddr.Inet4SockAddr sockAddr = new org.kextnet.kpi.socket.SockAddr.Inet4SockAddr(0, 0);

    /** This thread's cache of MTU-sized buffers, or null: a context that may outlive its thread has none. */
    private final BufferCache cache;

    PacketContext(Kernel kernel, StatCells stats, GracePeriod grace, int stripe, BufferCache cache) {
        this.kernel = kernel;
        this.stats = stats;
        this.grace = grace;
        this.stripe = stripe;
        this.cache = cache;
    }

    /**
     * An MTU-sized buffer (as {@code kernel().buffers().alloc()}), from this thread's cache when it has one:
     * no atomic operation per buffer.
     */
    public Packet alloc() {
        return cache != null ? cache.alloc() : kernel.buffers().alloc();
    }

    /** A buffer for {@code dataLength} bytes (as {@code kernel().buffers().alloc(int)}), or null. */
    public Packet alloc(int dataLength) {
        if (cache != null && dataLength <= cache.pool().maxData()) return cache.alloc();
        return kernel.buffers().alloc(dataLength);
    }

    /** Frees a packet (as {@link Packet#free()}), into this thread's cache when it has one. */
    public void free(Packet m) {
        if (cache != null) cache.free(m);
        else m.free();
    }

    /**
     * Frees what this thread's vectors still hold and empties them, so that the next batch starts clean. For
     * the last guard around a batch: only a kernel bug leaves packets there (every stage hands each packet on
     * or frees it, and clears its slot as it takes it).
     */
    public void discardVectors() {
        for (int i = 0; i < ipv4Vector.length; i++) {
            Packet m = ipv4Vector[i];
            ipv4Vector[i] = null;
            if (m != null) free(m);
        }
        forwardVector.discard(this);
    }

    /** Gives this context's cached buffers back; called by the thread that owned it when it stops. */
    public void close() {
        if (cache != null) cache.close();
    }

    public Kernel kernel() { return kernel; }
    public StatCells stats() { return stats; }

    /** Enters a read-side section (nested sections only count). */
    public void enter() {
        if (depth++ == 0) token = grace.enter(stripe);
    }

    /** Leaves the section entered last. */
    public void exit() {
        if (--depth == 0) grace.exit(token);
    }

    /** Whether this thread is inside a read-side section. */
    public boolean inSection() { return depth > 0; }
}
