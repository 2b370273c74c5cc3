package org.kextnet.kernel.sync;

/**
 * Thrown on a thread the kernel's watchdog gave up on, when the call into an extension that held it past its
 * hard limit returns at last: the thread unwinds without touching what was handed to its replacement (its
 * interface's queue, its read-side section, its counters) and ends. Kernel threads end quietly on it; an
 * application's thread gets it from the kernel call it was making.
 *
 * <p>An {@link Error}, so that the kernel's guards for ordinary failures ({@code catch (RuntimeException)})
 * let it through; the guards around extension calls rethrow it.
 */
public final class ThreadAbandoned extends Error {
    public ThreadAbandoned(String message) {
        super(message, null, false, false);
    }
}
