package org.kextnet.kpi;

import java.util.concurrent.TimeUnit;

/**
 * Timers for extensions ({@code bsd_timeout}/{@code thread_call} in xnu), owned by the kernel so that an
 * unload cancels them: an extension must not start threads of its own. Callouts run on the kernel's timer
 * thread, one at a time, inside a packet-path read-side section, so they may inject packets; they must not
 * block. A callout that throws is contained and counted like a filter fault.
 */
public interface Callouts {
    /** A scheduled callout; itself a {@link Registration} recorded against the extension. */
    interface Callout extends Registration {
        /**
         * Cancels the callout. A run already under way finishes; none starts after this returns.
         * @return whether a future run was cancelled
         */
        boolean cancel();
    }

    /** Runs {@code task} once after {@code delay}. */
    Callout schedule(Runnable task, long delay, TimeUnit unit);

    /** Runs {@code task} every {@code period}, the first time after one period, until cancelled. */
    Callout scheduleAtFixedRate(Runnable task, long period, TimeUnit unit);
}
