package org.kextnet.kernel.inet.tcp;

import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.sync.Timeout;

/**
 * Spaces a connection's segments at its congestion controller's {@linkplain CongestionControl#pacingRate()
 * pacing rate}: each segment sent moves the earliest departure of the next one on by its length over the rate
 * (Linux's earliest departure time, {@code tcp_wstamp_ns}). A segment may leave up to one burst ahead of its
 * time: the timer wheel ticks every millisecond, so without the burst its granularity would cap the rate. The
 * burst is at least two ticks, 1 ms of data and two segments (Linux's TSO autosizing sends about 1 ms of data
 * per burst, and at least two segments). When the sender is ahead, a timer sends the rest.
 *
 * <p>Idle time earns no credit: after a pause the next segment's time is now. Owned by its
 * {@link TcpConnection}, used under its lock; its timer is made the first time it is needed, so a connection
 * that never paces (CUBIC, NewReno) never has one.
 */
final class Pacer {
    private static final long NONE = Long.MAX_VALUE;
    private final TimerWheel wheel;
    private final Timeout.Task task;
    private Timeout timer;
    /** The earliest time the next segment may leave, ns. */
    private long next;
    /** When the timer is due, or NONE. */
    private long armedAt = NONE;

    Pacer(TimerWheel wheel, Timeout.Task task) {
        this.wheel = wheel;
        this.task = task;
    }

    /**
     * Whether the next segment must wait (at {@code rate} bytes per second; 0: no pacing). If it must, the timer
     * is armed for when it may go.
     */
    boolean hold(long now, long rate, int mss) {
        if (rate <= 0) return false;
        long burst = burst(rate, mss);
        if (next - now <= burst) return false;
        long wake = next - burst;
        if (armedAt == NONE || armedAt - wake > 0) {
            if (timer == null) timer = new Timeout(task);
            armedAt = wake;
            wheel.schedule(timer, wake);
        }
        return true;
    }

    /** A segment of {@code bytes} payload left at {@code now}. */
    void sent(long now, long bytes, long rate) {
        if (rate <= 0) return;
        next = Math.max(next, now) + (long) (bytes * 1e9 / rate);
    }

    /** How far ahead of its time a segment may go, ns. */
    long burst(long rate, int mss) {
        long bytes = Math.max(2L * mss, rate / 1000);
        return Math.max(2 * wheel.tickNanos(), (long) (bytes * 1e9 / rate));
    }

    /** Whether {@code t} is this pacer's timer; if so, it has fired. */
    boolean fired(Timeout t) {
        if (t != timer || timer == null) return false;
        armedAt = NONE;
        return true;
    }

    /** When the next segment may leave (for tests and listings). */
    long next() { return next; }

    /** Stops the timer (the connection is released). */
    void cancel() {
        if (timer != null) wheel.cancel(timer);
        armedAt = NONE;
    }
}
