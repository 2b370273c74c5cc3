package org.kextnet.kernel;

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
    /** A socket address this thread reuses to pass senders to socket filters (valid during the call only). */
    public final org.kextnet.kpi.socket.SockAddr.Inet4SockAddr sockAddr = new org.kextnet.kpi.socket.SockAddr.Inet4SockAddr(0, 0);

    PacketContext(Kernel kernel, StatCells stats, GracePeriod grace, int stripe) {
        this.kernel = kernel;
        this.stats = stats;
        this.grace = grace;
        this.stripe = stripe;
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
