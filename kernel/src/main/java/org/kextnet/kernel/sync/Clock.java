package org.kextnet.kernel.sync;

/**
 * The kernel's time source, in nanoseconds with {@link System#nanoTime()}'s meaning: only differences count.
 * Everything in the kernel that waits (ARP retries, reassembly, TCP's timers, extension callouts) reads this
 * clock, so that a test or packetdrill's shim can run the kernel on a {@link ManualClock} and advance time
 * without sleeping.
 */
@FunctionalInterface
public interface Clock {
    /** The system's monotonic clock. */
    Clock SYSTEM = System::nanoTime;

    long nanoTime();
}
