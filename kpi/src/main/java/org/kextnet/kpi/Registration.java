package org.kextnet.kpi;

/**
 * Something an extension registered with the kernel: a filter, a control, a plumber, a protocol, an
 * interface, an event subscription or a callout. The kernel records each against the extension that made it
 * ({@link Kpi#registrations()}), so that unload can prove none is left behind.
 */
public interface Registration {
    /** The life of a registration. */
    enum State {
        /** Live: the kernel calls into it. */
        ACTIVE,
        /** Removal started; calls already inside it may still be running. */
        DETACHING,
        /** Removed; its final callback has run. */
        DETACHED,
        /**
         * Removed by the kernel: after repeated faults (its final callback has run), or because a call into its
         * extension did not return within the hard limit (the extension is stuck: the kernel calls none of its
         * callbacks again, final ones included).
         */
        FAULTED
    }

    /**
     * What the kernel counted of the calls into a registration's callbacks, from its registration on.
     *
     * @param calls      every call into its callbacks
     * @param passed     packet callbacks that returned 0 (the packet goes on)
     * @param swallowed  packet callbacks that returned {@code EJUSTRETURN} (the extension took the packet)
     * @param dropped    packet callbacks that returned another error (the kernel dropped the packet)
     * @param faults     calls that threw (each was contained)
     * @param overBudget calls that took longer than their head's soft budget (each was logged)
     * @param nanos      time spent in its callbacks, in nanoseconds: measured on every call of a control-path head,
     *                   and on a packet head (filters, protocols) on each thread's first calls, then on about one
     *                   call in 64, scaled up
     */
    record Counters(long calls, long passed, long swallowed, long dropped, long faults, long overBudget, long nanos) {}

    /** What kind of registration this is ("ipfilter", "iff", "sflt", "kctl", "plumber", ...). */
    String kind();

    /** Its name as given at registration (the filter or control name), for status listings. */
    String name();

    /** Its current state. */
    State state();

    /** Exceptions thrown by its callbacks so far (each was contained). */
    long faults();

    /** What the kernel counted of the calls into it so far. Each read sums the kernel's per-thread counts. */
    Counters counters();
}
