package org.kextnet.kernel.embed;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * An IP filter for tests under traffic: adds one to a mark byte of every packet it passes (so the receiver can
 * tell how many instances a packet went through), counts its calls in flight, and checks the grace period: a
 * call after {@code detached}, or {@code detached} while a call is in flight, counts as a violation in the
 * counter shared by a test's filters. {@code detached} records when it ran and wakes the thread waiting in
 * {@link #awaitDetached}.
 */
public final class MarkingFilter implements IpFilter {
    private final AtomicLong violations;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger detachedCalls = new AtomicInteger();
    private final int markOffset;
    private volatile boolean detached;
    private volatile long detachedAtNanos;
    private volatile Thread waiter;

    /**
     * @param markOffset where the mark byte is, from the IP header ({@link SequencedStream#IP_MARK})
     * @param violations the test's violation counter
     */
    public MarkingFilter(int markOffset, AtomicLong violations) {
        this.markOffset = markOffset;
        this.violations = violations;
    }

    private int mark(Mbuf m) {
        inFlight.incrementAndGet();
        if (detached) violations.incrementAndGet();
        m.put8(markOffset, m.getU8(markOffset) + 1);
        inFlight.decrementAndGet();
        return 0;
    }

    @Override public int input(Mbuf m, int offset, int protocol) { return mark(m); }
    @Override public int output(Mbuf m, IpPacketOptions options) { return mark(m); }

    @Override public void detached() {
        if (inFlight.get() != 0) violations.incrementAndGet();
        detachedAtNanos = System.nanoTime();
        detached = true;
        detachedCalls.incrementAndGet();
        Thread w = waiter;
        if (w != null) LockSupport.unpark(w);
    }

    public boolean isDetached() { return detached; }
    public int detachedCalls() { return detachedCalls.get(); }
    /** {@link System#nanoTime} when {@code detached} ran. */
    public long detachedAtNanos() { return detachedAtNanos; }

    /**
     * Waits for {@code detached}: spins for {@code spinNanos}, then parks until the callback wakes this thread
     * (a waiting loader must not take a core from the packet threads for long), or until {@code giveUp} says so.
     * @return whether {@code detached} ran
     */
    public boolean awaitDetached(long spinNanos, BooleanSupplier giveUp) {
        long start = System.nanoTime();
        while (!detached && System.nanoTime() - start < spinNanos) Thread.onSpinWait();
        if (detached) return true;
        waiter = Thread.currentThread();
        while (!detached && !giveUp.getAsBoolean()) LockSupport.parkNanos(this, 1_000_000);
        waiter = null;
        return detached;
    }
}
