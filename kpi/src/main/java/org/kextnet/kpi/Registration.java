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
        /** Removed by the kernel after repeated faults; its final callback has run. */
        FAULTED
    }

    /** What kind of registration this is ("ipfilter", "iff", "sflt", "kctl", "plumber", ...). */
    String kind();

    /** Its name as given at registration (the filter or control name), for status listings. */
    String name();

    /** Its current state. */
    State state();

    /** Exceptions thrown by its callbacks so far (each was contained). */
    long faults();
}
