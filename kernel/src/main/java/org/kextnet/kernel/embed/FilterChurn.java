package org.kextnet.kernel.embed;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilterKpi;
import org.kextnet.kpi.ipfilter.IpFilterRef;

/**
 * Registration changes over and over on a thread of their own, for tests and benchmarks under traffic: each
 * change waits for the old {@link MarkingFilter}'s {@code detached} before the next, and the time from the
 * change to that callback is recorded. {@link #replacing} replaces one IP filter (one publish each time);
 * {@link #reattaching} adds one, then removes it.
 */
public abstract class FilterChurn implements Runnable {
    /** How long a change waits spinning for {@code detached} before it parks, unless {@link #spinNanos} says otherwise. */
    public static final long SPIN_NANOS = 20_000;

    private volatile boolean stop, resetRequested;
    private volatile long startNanos = System.nanoTime(), endNanos;
    private volatile int changes;
    private volatile long spinNanos = SPIN_NANOS;
    private volatile long intervalNanos;
    private final List<MarkingFilter> filters = new ArrayList<>();
    private long[] latencies = new long[1024];
    private int latencyCount;
    protected final int markOffset;
    protected final AtomicLong violations;

    protected FilterChurn(int markOffset, AtomicLong violations) {
        this.markOffset = markOffset;
        this.violations = violations;
    }

    /** Replaces {@code ref}'s filter (a {@link MarkingFilter}, the first of {@link #filters()}) again and again. */
    public static FilterChurn replacing(IpFilterRef ref, MarkingFilter first, int markOffset, AtomicLong violations) {
        return new FilterChurn(markOffset, violations) {
            private IpFilterRef current = ref;
            {
                record(first);
            }

            @Override protected MarkingFilter change() throws KpiException {
                MarkingFilter old = last();
                current = current.replace(record(newFilter()));
                return old;
            }

            @Override public void finish() { current.remove(); }
        };
    }

    /** Adds an IPv4 filter named {@code name} to {@code kpi}, then removes it, again and again. */
    public static FilterChurn reattaching(IpFilterKpi kpi, String name, int markOffset, AtomicLong violations) {
        return new FilterChurn(markOffset, violations) {
            private IpFilterRef ref;

            @Override protected void beforeChange() throws KpiException {
                ref = kpi.addV4(name, Position.DEFAULT, record(newFilter()));
                Thread.onSpinWait();
            }

            @Override protected MarkingFilter change() { ref.remove(); return last(); }
        };
    }

    /**
     * Sets how long each change spins waiting for {@code detached} before it parks (0: parks at once and leaves
     * the cores to the packet threads; the latency recorded is the callback's time either way).
     */
    public FilterChurn spinNanos(long nanos) {
        spinNanos = nanos;
        return this;
    }

    /**
     * Paces the changes: at most {@code perSecond} a second, the thread parked in between (0: back to back,
     * the default). Back to back, the changes and their grace periods take most of a core of their own.
     */
    public FilterChurn rate(long perSecond) {
        intervalNanos = perSecond > 0 ? 1_000_000_000L / perSecond : 0;
        return this;
    }

    /** Untimed preparation of the next change. */
    protected void beforeChange() throws KpiException {}

    /** Makes one change; returns the filter whose {@code detached} ends it. */
    protected abstract MarkingFilter change() throws KpiException;

    /** After the last change (the thread stopped): removes what is still attached, if anything. */
    public void finish() throws KpiException {}

    protected final MarkingFilter newFilter() { return new MarkingFilter(markOffset, violations); }

    protected final MarkingFilter record(MarkingFilter f) {
        synchronized (filters) {
            filters.add(f);
        }
        return f;
    }

    protected final MarkingFilter last() {
        synchronized (filters) {
            return filters.get(filters.size() - 1);
        }
    }

    @Override public final void run() {
        startNanos = System.nanoTime();
        long next = startNanos;
        try {
            while (!stop) {
                if (resetRequested) {
                    synchronized (this) {
                        latencyCount = 0;
                    }
                    changes = 0;
                    startNanos = System.nanoTime();
                    resetRequested = false;
                }
                long interval = intervalNanos;
                if (interval > 0) {
                    next = Math.max(next + interval, System.nanoTime() - interval); // late: no burst to catch up
                    long wait;
                    while ((wait = next - System.nanoTime()) > 0 && !stop) LockSupport.parkNanos(this, wait);
                }
                beforeChange();
                long t = System.nanoTime();
                MarkingFilter old = change();
                changes++;
                if (old.awaitDetached(spinNanos, () -> stop)) addLatency(old.detachedAtNanos() - t);
            }
        } catch (KpiException e) {
            throw new AssertionError(e);
        } finally {
            endNanos = System.nanoTime();
        }
    }

    private synchronized void addLatency(long nanos) {
        if (latencyCount == latencies.length) latencies = Arrays.copyOf(latencies, latencyCount * 2);
        latencies[latencyCount++] = nanos;
    }

    /**
     * Forgets the changes and latencies so far (after a warm-up): the running thread does it before its next
     * change, and this waits for that. The filters attached so far stay in {@link #filters()}.
     */
    public void resetStats() throws InterruptedException {
        resetRequested = true;
        while (resetRequested && !stop) Thread.sleep(1);
    }

    /** Asks the thread to stop after the change in progress. */
    public void stop() { stop = true; }

    /** Stops {@code thread} (running this) and waits for it. */
    public void stopAndJoin(Thread thread) throws InterruptedException {
        stop();
        thread.join();
    }

    /** Stops {@code thread} (running this), waits for it, and removes the filter still attached. */
    public void stopAndFinish(Thread thread) throws InterruptedException, KpiException {
        stopAndJoin(thread);
        finish();
    }

    /** Changes made so far. */
    public int changes() { return changes; }

    /** Seconds the thread has run (until now, or until it stopped). */
    public double seconds() {
        long end = endNanos;
        return ((end != 0 ? end : System.nanoTime()) - startNanos) / 1e9;
    }

    /** Every filter this churn attached, in order. */
    public List<MarkingFilter> filters() {
        synchronized (filters) {
            return List.copyOf(filters);
        }
    }

    /** Change-to-{@code detached} latency at quantile {@code q} (0..1), in nanoseconds; 0 without samples. */
    public synchronized long latencyNanos(double q) {
        if (latencyCount == 0) return 0;
        long[] sorted = Arrays.copyOf(latencies, latencyCount);
        Arrays.sort(sorted);
        return sorted[(int) Math.min(latencyCount - 1, Math.round((latencyCount - 1) * q))];
    }

    public synchronized int latencySamples() { return latencyCount; }

    /** One line: changes, their rate, and change-to-detached p50/p90/p99/max. */
    public String describe() {
        return String.format("%,d registration changes (%.0f/s); change-to-detached p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us",
                changes, changes / seconds(), latencyNanos(0.5) / 1e3, latencyNanos(0.9) / 1e3, latencyNanos(0.99) / 1e3,
                latencyNanos(1) / 1e3);
    }
}
