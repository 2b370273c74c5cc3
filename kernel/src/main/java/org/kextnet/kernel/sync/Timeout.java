package org.kextnet.kernel.sync;

/**
 * One timer of a {@link TimerWheel}: made once by its owner (a TCP connection keeps one per timer, an ARP
 * cache one for its sweep) and scheduled, moved and cancelled as often as needed without allocating. It is
 * an intrusive list node: the wheel links it into a slot, so scheduling and cancelling are O(1).
 *
 * <p>A timeout is scheduled on at most one wheel at a time. Its task runs on the thread that advances the
 * wheel, with no wheel lock held, so it may schedule this or any other timeout again.
 */
public final class Timeout {
    /** What runs when a timeout expires. */
    @FunctionalInterface
    public interface Task {
        /** Runs once per expiry; {@code now} is the wheel's time when it expired. */
        void expired(Timeout timeout, long now);
    }

    final Task task;
    /** The wheel this timeout is linked into, or null when it is not scheduled. Guarded by that wheel's lock. */
    TimerWheel wheel;
    Timeout prev, next;
    /** Absolute deadline in nanoseconds, and the wheel tick it expires at. */
    long deadline;
    long tick;

    public Timeout(Task task) {
        this.task = java.util.Objects.requireNonNull(task);
    }

    /** Whether the timeout is scheduled and has not expired or been cancelled. */
    public boolean isScheduled() {
        TimerWheel w = wheel;
        if (w == null) return false;
        synchronized (w) {
            return wheel != null;
        }
    }

    /** The deadline it was last scheduled for (nanoseconds on the wheel's clock). */
    public long deadline() { return deadline; }
}
