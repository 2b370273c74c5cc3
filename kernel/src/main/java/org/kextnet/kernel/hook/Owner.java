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

    /**
     * Refuses new registrations once the owner is unloading.
     * @throws KpiException ENXIO when the owner is closed
     */
    void checkOpen() throws KpiException;

    /** Records a registration the kernel accepted. */
    void record(KernelRegistration r);

    /** Forgets a registration whose final callback ran. */
    void forget(KernelRegistration r);

    /**
     * A callback of {@code r} threw, its {@code count}th fault: logged and counted.
     * @return true when the fault limit is reached and {@code r} must be quarantined
     */
    boolean faulted(KernelRegistration r, String callback, Throwable t, long count);
}
