package org.kextnet.loader.server;

import java.util.Optional;

import org.kextnet.kpi.server.KernServ;

/**
 * How a server gets kernel interfaces ({@link KernServ#kpi}): the kernel provides an object of the asked
 * type bound to {@code owner}, and records what is registered through it in its {@link RegistrationLedger}.
 */
@FunctionalInterface
public interface KpiProvider {
    <T> Optional<T> provide(Class<T> type, KernServ owner);

    /** Provides nothing. */
    KpiProvider NONE = new KpiProvider() {
        @Override public <T> Optional<T> provide(Class<T> type, KernServ owner) { return Optional.empty(); }
    };
}
