package org.kextnet.kernel.sync;

/**
 * A clock that moves only when told to: tests and packetdrill's shim drive the kernel's timers with it
 * ({@code Kernel.advanceTime}). Thread-safe.
 */
public final class ManualClock implements Clock {
    private volatile long now;

    public ManualClock() { this(0); }

    public ManualClock(long startNanos) { this.now = startNanos; }

    @Override public long nanoTime() { return now; }

    /** Moves the clock forward by {@code nanos} (not below zero). */
    public synchronized void advance(long nanos) {
        if (nanos < 0) throw new IllegalArgumentException("time runs forward: " + nanos);
        now += nanos;
    }

    /** Moves the clock to {@code nanos}, which must not be in the past. */
    public synchronized void set(long nanos) {
        if (nanos - now < 0) throw new IllegalArgumentException("time runs forward: " + nanos + " < " + now);
        now = nanos;
    }
}
