package org.kextnet.kernel.hook;

import org.kextnet.kpi.KpiException;

/**
 * Who owns registrations: an extension's KPI handle, or the kernel's own. A hook point records each
 * registration it accepts with its owner, so that an unload can find, remove and wait for every one, and
 * reports every fault of a registration's callbacks to it. Implemented by {@code nke.ExtensionHandle}.
 */
public interface Owner {
    /** The extension's name. */
    String name();

    /** Whether this is the kernel's own handle (the watchdog never quarantines the kernel). */
    default boolean isKernel() { return false; }

    /**
     * Refuses new registrations once the owner is unloading.
     * @throws KpiException ENXIO when the owner is closed
     */
    void checkOpen() throws KpiException;

    /** Records a registration the kernel accepted. */
    void record(KernelRegistration r);

    /** Forgets a registration whose final callback ran. */
    void forget(KernelRegistration r);

    /** Where a thread without a packet context at hand gets its call slot. */
    CallSlots slots();

    /**
     * A callback of {@code r} threw, its {@code count}th fault: logged and counted.
     * @return true when the fault limit is reached and {@code r} must be quarantined
     */
    boolean faulted(KernelRegistration r, String callback, Throwable t, long count);

    /**
     * Calls into {@code r} returned over their soft budget, {@code count} so far, the longest since the last
     * report {@code nanos}: on the watchdog's thread, at most once a second per registration.
     */
    void overBudget(KernelRegistration r, long nanos, long count);

    /**
     * The watchdog gave up on a call into {@code r} on {@code thread}, after {@code nanos}: the extension is
     * stuck. Called on the watchdog's thread after every registration of this owner was {@linkplain
     * #silence silenced}; the owner logs it and removes its registrations without calling into it (not on this
     * thread, which must not wait).
     * @param trace    the stuck thread's stack, cut to the extension's frames and the head that called it
     * @param replaced whether a new thread took over the stuck thread's work
     */
    void stuck(KernelRegistration r, Thread thread, StackTraceElement[] trace, long nanos, boolean replaced);

    /**
     * Refuses every call into every registration of this owner from now on (it is stuck), and new registrations.
     * @return its registrations now
     */
    java.util.List<KernelRegistration> silence();
}
