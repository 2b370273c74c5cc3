package org.kextnet.kernel.sync;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where threads wait for a change that other threads announce, allocating nothing: an event count (Reed and
 * Kanodia, 1979). A waiter reads {@link #count()} <em>before</em> it tests what it waits for and, if that is not
 * there yet, waits with {@link #awaitChange} for the count to move on from what it read; whoever changes the state
 * calls {@link #signalAll()} after the change. No wake-up is lost: a change made after the waiter's test is
 * followed by a signal that moves the count the waiter compares with, and a change made before the test is seen by
 * it. Waits may end early (callers test again, in a loop).
 *
 * <p>Why not a {@code Condition}: its {@code await} allocates a node per wait, and signalling it takes its
 * {@code ReentrantLock}, whose contended acquire allocates another; a TCP socket's reader or writer waits, and is
 * signalled, about once per few segments, so its data path would allocate in the steady state. Here a signal with
 * nobody waiting is an atomic increment and a read; a waiter waits on this object's monitor, whose waits and
 * contention allocate nothing on the heap (and no longer pin a virtual thread).
 */
public final class EventCount {
    private final AtomicInteger count = new AtomicInteger();
    /** Threads inside {@link #awaitChange}; changed under the monitor, read without it by {@link #signalAll}. */
    private volatile int waiters;

    /** The count now: read it before testing the state waited for, and pass it to {@link #awaitChange}. */
    public int count() { return count.get(); }

    /** Announces a change (after making it): moves the count and wakes every waiting thread. */
    public void signalAll() {
        count.incrementAndGet();
        // Both volatile: a waiter registers, then reads the count; this moves the count, then reads the waiters.
        // Either this sees the waiter, or the waiter sees the new count and does not wait.
        if (waiters != 0) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /**
     * Waits until the count is no longer {@code seen}, or until {@code deadline} ({@link System#nanoTime()};
     * {@link Long#MAX_VALUE}: no deadline); it may end up to a millisecond after the deadline.
     * @return false if the deadline passed with the count unchanged
     * @throws InterruptedException if the thread is interrupted before or while it waits
     */
    public boolean awaitChange(int seen, long deadline) throws InterruptedException {
        if (Thread.interrupted()) throw new InterruptedException();
        synchronized (this) {
            waiters++;
            try {
                while (count.get() == seen) {
                    if (deadline == Long.MAX_VALUE) {
                        wait();
                        continue;
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) return false;
                    wait(left / 1_000_000, (int) (left % 1_000_000));
                }
                return true;
            } finally {
                waiters--;
            }
        }
    }
}
