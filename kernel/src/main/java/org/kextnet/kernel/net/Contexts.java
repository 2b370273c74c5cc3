package org.kextnet.kernel.net;

import java.util.function.Function;

import org.kextnet.kernel.buf.BufferCache;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.hook.CallSlots;
import org.kextnet.kernel.hook.Watchdog;
import org.kextnet.kernel.stat.Stats;
import org.kextnet.kernel.sync.GracePeriod;

/**
 * The {@link PacketContext}s of one kernel, and the rule that says which one a thread uses.
 *
 * <ul>
 * <li>A thread that runs packet code all its life (a driver's reader, the timer) {@link #open}s its own, with
 * a buffer cache, and closes it when it stops: its counters are then folded into the kernel's totals and
 * its cells leave the registry.</li>
 * <li>Any other thread {@link #acquire}s one for the length of a call and {@link #release}s it after: a
 * context from a small pool, so that application threads (a hundred thousand virtual threads that each send
 * a datagram) leave nothing behind and a statistics read sums a bounded number of cells.</li>
 * <li>On a thread that holds a context (its own, or one it acquired), {@code acquire} returns that same
 * context: a KPI call an extension makes from a callback on a reader thread runs on the reader's context.</li>
 * </ul>
 *
 * <p>Each context has a {@link CallSlot} the kernel's {@link Watchdog} watches; a context whose thread the
 * watchdog abandoned retires at once ({@link #abandoned}) and is never handed out again.
 */
public final class Contexts implements CallSlots {
    /** Leased contexts kept for reuse; beyond these, a released one retires. */
    static final int POOL_LIMIT = 64;

    private final Stats stats;
    private final GracePeriod grace;
    private final Buffers buffers;
    private final Watchdog watchdog;
    private final ThreadLocal<PacketContext> current = new ThreadLocal<>();
    /** Leased contexts waiting, a stack under its own lock (pushing allocates nothing). */
    private final PacketContext[] pool = new PacketContext[POOL_LIMIT];
    private int pooled;

    public Contexts(Stats stats, GracePeriod grace, Buffers buffers, Watchdog watchdog) {
        this.stats = stats;
        this.grace = grace;
        this.buffers = buffers;
        this.watchdog = watchdog;
    }

    public Stats stats() { return stats; }
    /** The watchdog over every context's calls into extensions. */
    @Override public Watchdog watchdog() { return watchdog; }
    public GracePeriod grace() { return grace; }
    public Buffers buffers() { return buffers; }

    /**
     * A context the calling thread owns until it calls {@link PacketContext#close()} (from the same thread),
     * with a cache of buffers of its own. Unless the thread holds a context of this kernel already, KPI calls
     * made on this thread meanwhile run on it.
     */
    public PacketContext open() { return open(true); }

    /**
     * As {@link #open()}; with {@code bind} false the context is only passed explicitly and calls that
     * {@link #acquire} on this thread lease another, as an application's would (a test standing in for a
     * driver's reader, a benchmark).
     */
    public PacketContext open(boolean bind) {
        PacketContext c = new PacketContext(this, stats.newCells(), grace, GracePeriod.stripeFor(Thread.currentThread()),
                new BufferCache(buffers.small()), false);
        c.holds = 1;
        c.calls.bind(Thread.currentThread());
        if (bind && current.get() == null) {
            current.set(c);
            stats.bind(c.stats());
        }
        return c;
    }

    void close(PacketContext c) {
        if (c.leased) throw new IllegalStateException("a leased context is released, not closed");
        if (current.get() == c) {
            current.remove();
            stats.unbind();
        }
        c.closeCache();
        retire(c); // unless the watchdog did, when it abandoned the context
    }

    private void retire(PacketContext c) {
        if (!c.retireOnce()) return;
        watchdog.retire(c.calls);
        stats.retire(c.stats());
    }

    /**
     * The watchdog gave up on {@code c}'s thread: its counts are folded in and its slot no longer watched. The
     * stuck thread keeps the context object (it may still come back through it) but nothing is shared with it.
     */
    void abandoned(PacketContext c) {
        retire(c);
    }

    /**
     * The context the calling thread holds, or one leased for it until the matching {@link #release}. Pair
     * every call with a release, in a finally block.
     */
    public PacketContext acquire() {
        PacketContext c = current.get();
        if (c != null) {
            c.holds++;
            return c;
        }
        synchronized (pool) {
            if (pooled > 0) {
                c = pool[--pooled];
                pool[pooled] = null;
            }
        }
        if (c == null) c = new PacketContext(this, stats.newCells(), grace, GracePeriod.stripeFor(Thread.currentThread()), null, true);
        c.holds = 1;
        c.calls.bind(Thread.currentThread());
        current.set(c);
        stats.bind(c.stats());
        return c;
    }

    /**
     * Ends an {@link #acquire}: the outermost release of a leased context returns it to the pool (or retires it).
     * An abandoned one is only let go of.
     */
    public void release(PacketContext c) {
        if (--c.holds > 0 || !c.leased) return;
        if (c.isAbandoned()) {
            current.set(null);
            stats.unbind();
            return;
        }
        if (c.inSection()) throw new IllegalStateException("context released inside a read-side section");
        current.set(null); // not remove(): the thread's next acquire then finds its map entry and allocates nothing
        stats.unbind();
        c.calls.bind(null);
        synchronized (pool) {
            if (pooled < POOL_LIMIT) {
                pool[pooled++] = c;
                return;
            }
        }
        retire(c);
    }

    @Override public CallSlot acquireSlot() { return acquire().calls; }

    @Override public void releaseSlot(CallSlot slot) { release((PacketContext) slot.holder()); }

    /** Runs {@code call} with the calling thread's context (see {@link #acquire}). */
    public <R> R call(Function<PacketContext, R> call) {
        PacketContext c = acquire();
        try {
            return call.apply(c);
        } finally {
            release(c);
        }
    }

    /** Whether the calling thread holds a context of this kernel. */
    public boolean held() { return current.get() != null; }

    /** Contexts waiting in the pool. */
    public int pooled() {
        synchronized (pool) {
            return pooled;
        }
    }
}
