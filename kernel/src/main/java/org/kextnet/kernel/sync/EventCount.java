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
    /**
     * Whether a thread may be waiting that no signal has woken yet (set under the monitor, read without it). A signal
     * takes the monitor only when it is set, and clears it as it wakes them all, so that the signals that follow
     * before they wait again cost no more than when nobody waits. It may stay set after a wait ended without a
     * signal (a timeout): the next signal then takes the monitor for nothing.
     */
    private volatile boolean waiting;

    /** The count now: read it before testing the state waited for, and pass it to {@link #awaitChange}. */
    public int count() { return count.get(); }

    /** Announces a change (after making it): moves the count and wakes every waiting thread. */
    public void signalAll() {
        count.incrementAndGet();
        // Both volatile: a waiter sets the flag, then reads the count; this moves the count, then reads the flag.
        // Either this sees the flag, or the waiter sees the new count and does not wait.
        if (waiting) {
            synchronized (this) {
                waiting = false;
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
        if (count.get() != seen) return true;
        synchronized (this) {
            while (true) {
                waiting = true; // before the count is read again: see signalAll
                long left = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
                if (count.get() != seen) return true;
                if (left <= 0) return false;
                if (left == Long.MAX_VALUE) wait();
                else wait(left / 1_000_000, (int) (left % 1_000_000));
            }
        }
    }
}
