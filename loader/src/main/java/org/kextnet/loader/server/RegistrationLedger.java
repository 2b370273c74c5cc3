package org.kextnet.loader.server;

import java.util.List;
import java.util.Map;

import org.kextnet.kpi.Registration;
import org.kextnet.kpi.server.KernServ;

/**
 * What the kernel still holds for a server: the loader asks it during an unload whether every registration
 * the server made (filters, controls, plumbers, interfaces, subscriptions, callouts) has reached its final
 * detached callback, and has it remove stragglers when an unload is forced. The kernel implements this for
 * the NKE registrations it records ({@link NkeBridge}); {@link ServerContext} keeps what is made through the
 * {@link KernServ} handle itself (timeouts, callouts, wired buffers).
 *
 * <p>Owners are identified by the {@link KernServ} handle the loader gave the server for one load. Asking is
 * free of side effects; only {@link #removeAll} and {@link #release} change anything.
 */
public interface RegistrationLedger {
    /** Live registrations of {@code owner} by kind ("ipfilter" → 2), including those still detaching; empty when none is left. */
    Map<String, Integer> outstanding(KernServ owner);

    /**
     * Removes every registration of {@code owner} at once (a forced unload, a failed start): starts each removal,
     * refusing none (a control's clients are disconnected); the detached callbacks may still run afterwards.
     */
    void removeAll(KernServ owner);

    /** Exceptions thrown by {@code owner}'s callbacks and contained by the kernel during this load. */
    default long faults(KernServ owner) { return 0; }

    /** {@code owner}'s live registrations, each with its counters ({@link Registration#counters()}). */
    default List<Registration> registrations(KernServ owner) { return List.of(); }

    /**
     * How the kernel sees {@code owner}'s extension during this load: "" (healthy), "Faulted" (a registration was
     * removed after repeated faults) or "Faulted (stuck)" (a call into it ran past its hard limit).
     */
    default String health(KernServ owner) { return ""; }

    /** What got {@code owner}'s extension stuck ("ipfilter x did not return in 1.00 s on thread T ..."), or null. */
    default String stuckIn(KernServ owner) { return null; }

    /**
     * The load of {@code owner} is over: the kernel forgets it, and any registration call through what it
     * provided for that load fails from now on ({@code ENXIO}).
     */
    default void release(KernServ owner) {}

    /** A ledger that records nothing (no kernel attached). */
    RegistrationLedger NONE = new RegistrationLedger() {
        @Override public Map<String, Integer> outstanding(KernServ owner) { return Map.of(); }
        @Override public void removeAll(KernServ owner) {}
    };
}
