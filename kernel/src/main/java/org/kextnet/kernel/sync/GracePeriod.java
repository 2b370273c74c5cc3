package org.kextnet.kernel.sync;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Grace periods for one kernel, read-copy-update style: packet code runs inside read-side sections
 * without locks; a writer that unpublished something (a filter chain without the removed filter) waits
 * until every section that might still see the old thing has ended, then reclaims it (calls the filter's
 * {@code detached}).
 *
 * <p>Readers count themselves in striped counters (sleepable RCU, as Linux's SRCU): a section increments
 * its stripe of the current phase's counters and decrements the same counter when it ends. A writer
 * waits for the other phase's counters to drain (readers that read the phase before the previous flip and
 * counted themselves there late), flips the phase, and waits for the old phase's counters to drain: then
 * every reader that entered before the publish has left (see {@link #synchronize}). New readers go to the
 * other phase and never starve the writer.
 * Any number of threads take part (packet threads, applications that send, the timer) with fixed
 * memory; a packet thread enters once per batch, and nesting only costs the counter of its context.
 *
 * <p>{@link #defer} queues a reclaim to run after a grace period on the kernel's reclaim thread, so that
 * removal never blocks and may be asked from inside a read-side section (a filter removing itself).
 *
 * <p>A reclaim calls into an extension (its final callback), which may never return: the reclaim thread is a
 * {@link KernelThreads.Worker}, and reclaims whose grace period is over wait in a queue of their own and are
 * taken one at a time, so that a replacement thread goes on with the ones after the stuck one. A grace period
 * never waits for a section the watchdog abandoned: the watchdog ends it on its owner's behalf.
 */
public final class GracePeriod implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("kextnet.nke");
    /** Number of stripes; a power of two. */
    public static final int STRIPES = 16;
    /** Counters are 128 bytes apart so that stripes never share a cache line. */
    private static final int PAD = 16;
    /**
     * How long a writer spins on the counters before it parks; parked, the last reader to leave wakes it
     * ({@link #exit}). The timed park is only a safety net. The spin is long enough to cover a reader's batch
     * or two: when the cores are oversubscribed, a parked writer that a reader wakes may wait for the
     * scheduler's slice to end before it runs (EEVDF lets the running task finish its slice), which made the
     * p99 of a filter change 0.2–1.7 ms with a 20 µs spin against 0.06–0.78 ms with this one (docs/benchmarks.md).
     * Spinning costs only the writer: the reclaim thread, once per grace period.
     */
    private static final long SPIN_NANOS = 200_000, PARK_NANOS = 1_000_000;

    private final AtomicLongArray counters = new AtomicLongArray(2 * STRIPES * PAD);
    private volatile int phase;
    /** The writer parked in {@link #awaitDrained}, or null. */
    private volatile Thread waiter;
    private final ReentrantLock writer = new ReentrantLock();
    /**
     * Reclaims waiting for a grace period. The reclaim thread parks while it is empty and {@link #defer} unparks it:
     * a blocking queue's timed poll would allocate a node each time it times out, on an idle kernel too.
     */
    private final ConcurrentLinkedQueue<Runnable> pending = new ConcurrentLinkedQueue<>();
    /** How long the reclaim thread parks with nothing pending before it looks again (a safety net). */
    private static final long IDLE_PARK_NANOS = 100_000_000;
    /** Reclaims whose grace period is over, taken one at a time (by a replacement thread too). */
    private final ConcurrentLinkedQueue<Runnable> ready = new ConcurrentLinkedQueue<>();
    private final KernelThreads.Worker reclaimer;
    private volatile boolean closed;
    private volatile long completed;

    /** Grace periods with a reclaim thread of their own (tests, benchmarks). */
    public GracePeriod(String kernelName) {
        this(new KernelThreads(kernelName));
    }

    /** Grace periods whose reclaim thread is one of {@code threads}. */
    public GracePeriod(KernelThreads threads) {
        reclaimer = threads.worker("kextnet-" + threads.kernelName() + "-reclaim", this::reclaimLoop);
        reclaimer.start();
    }

    /** The reclaim thread now (a replacement, after the watchdog abandoned one). */
    public Thread reclaimThread() { return reclaimer.thread(); }

    /** The stripe for a thread: spreads threads over the counters. */
    public static int stripeFor(Thread t) {
        long id = t.threadId();
        return (int) ((id ^ (id >>> 16)) * 0x9E3779B9L >>> 28) & (STRIPES - 1);
    }

    /**
     * Enters a read-side section on {@code stripe}; returns the token to pass to {@link #exit}.
     * The increment is a full fence, so the reads that follow cannot move before it.
     */
    public int enter(int stripe) {
        int index = ((phase << 4) | stripe) * PAD;
        counters.getAndIncrement(index);
        return index;
    }

    /**
     * Leaves the read-side section entered with {@code token}. The section that empties its counter wakes
     * a parked writer: a load of one field per outermost section, and an unpark once per grace period.
     */
    public void exit(int token) {
        if (counters.getAndDecrement(token) == 1) {
            Thread w = waiter;
            if (w != null) LockSupport.unpark(w);
        }
    }

    /**
     * Blocks until every read-side section that began before this call has ended. Must not be called from
     * inside a read-side section (it would wait for itself): use {@link #defer} there.
     */
    public void synchronize() {
        writer.lock();
        try {
            // A reader that may still hold what was unpublished counted itself (a full fence) before it read
            // the published reference, so before the publish, and both scans below come after the publish:
            // they see its count in whichever phase it took, and wait until it leaves. One flip is enough
            // (Linux's SRCU scans the same way): the first scan's phase only holds stragglers that read the
            // phase before the previous flip; the flip makes new readers count in that phase, so the second
            // scan's phase only gets readers that read the phase before this flip. Both drain. A straggler
            // that counts itself after a scan saw its phase empty reads the reference after the publish.
            int current = phase;
            awaitDrained(current ^ 1);
            phase = current ^ 1;
            awaitDrained(current);
            completed++;
        } finally {
            writer.unlock();
        }
    }

    /**
     * Spins, then parks until the phase's counters are all zero. Parking instead of sleeping a fixed time
     * matters: a timed park of 20 us lasts 50-60 us with Linux's default timer slack. No wake-up is lost:
     * the writer publishes {@link #waiter} and then reads the counters, a reader decrements and then reads
     * {@code waiter} (both full fences), so either the writer sees the count the reader left, or the reader
     * whose decrement empties a stripe still counted at the writer's read sees the writer.
     */
    private void awaitDrained(int oldPhase) {
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        while (sum(oldPhase) != 0) {
            if (System.nanoTime() - spinUntil < 0) {
                Thread.onSpinWait();
                continue;
            }
            waiter = Thread.currentThread();
            while (sum(oldPhase) != 0) LockSupport.parkNanos(this, PARK_NANOS);
            waiter = null;
            return;
        }
    }

    private long sum(int p) {
        long n = 0;
        for (int s = 0; s < STRIPES; s++) n += counters.get(((p << 4) | s) * PAD);
        return n;
    }

    /** Grace periods completed so far (tests and status). */
    public long completed() { return completed; }

    /**
     * Runs {@code reclaim} on the reclaim thread after a grace period that starts after this call.
     * Reclaims queued together share one grace period and run in the order they were queued.
     */
    public void defer(Runnable reclaim) {
        if (closed) {
            runGuarded(reclaim); // the kernel is gone: nothing reads any more
            return;
        }
        pending.add(reclaim);
        Thread t = reclaimer.thread();
        if (t != null) LockSupport.unpark(t);
    }

    private void reclaimLoop() {
        List<Runnable> batch = new ArrayList<>();
        try {
            while (reclaimer.isCurrent() && (!closed || !pending.isEmpty() || !ready.isEmpty())) {
                Runnable r;
                while ((r = ready.poll()) != null) {
                    runGuarded(r);
                    if (!reclaimer.isCurrent()) return;
                }
                Runnable first = pending.poll();
                if (first == null) {
                    LockSupport.parkNanos(this, IDLE_PARK_NANOS);
                    if (Thread.interrupted() && closed) break; // close() interrupts: it runs what is left itself
                    continue;
                }
                for (Runnable next = first; next != null; next = pending.poll()) batch.add(next);
                synchronize();
                ready.addAll(batch);
                batch.clear();
            }
        } catch (ThreadAbandoned gone) {
            // The watchdog gave up on this thread inside a final callback; the replacement took the queue.
        }
    }

    /**
     * Runs one reclaim. Reclaims call into extensions through their own guards, so anything escaping is the
     * kernel's: a RuntimeException is reported and the next reclaim runs; an Error goes on to the kernel's
     * fatal-error rule ({@link KernelThreads}), and so does nothing else.
     */
    private static void runGuarded(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "reclaim failed", e);
        }
    }

    /** Blocks until every reclaim deferred before this call has run (tests, unload). */
    public boolean awaitReclaimed(long timeout, TimeUnit unit) throws InterruptedException {
        var done = new java.util.concurrent.CountDownLatch(1);
        defer(done::countDown);
        return done.await(timeout, unit);
    }

    /** Stops the reclaim thread after running what is queued. */
    @Override public void close() {
        closed = true;
        Thread t = reclaimer.thread();
        t.interrupt();
        try {
            reclaimer.stopAndJoin(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Runnable r;
        while ((r = ready.poll()) != null) runGuarded(r);
        while ((r = pending.poll()) != null) runGuarded(r);
    }
}
