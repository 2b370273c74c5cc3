package org.kextnet.loader;

import org.kextnet.loader.server.KpiProvider;
import org.kextnet.loader.server.RegistrationLedger;

/**
 * The settings of a {@link KernLoader}.
 *
 * @param ledger              the kernel's record of registrations (asked during unload)
 * @param kpi                 the kernel interfaces servers may ask for
 * @param callTimeoutMillis   longest an INIT or FREE routine may run before the load fails or the unload is forced
 * @param drainTimeoutMillis  longest an unload waits for registrations and in-flight calls to end, and for the
 *                            server's thread to stop
 */
public record LoaderOptions(RegistrationLedger ledger, KpiProvider kpi, long callTimeoutMillis, long drainTimeoutMillis) {
    public static LoaderOptions defaults() {
        return new LoaderOptions(RegistrationLedger.NONE, KpiProvider.NONE, 10_000, 5_000);
    }

    public LoaderOptions withTimeouts(long call, long drain) {
        return new LoaderOptions(ledger, kpi, call, drain);
    }

    public LoaderOptions withKernel(RegistrationLedger l, KpiProvider k) {
        return new LoaderOptions(l, k, callTimeoutMillis, drainTimeoutMillis);
    }
}
