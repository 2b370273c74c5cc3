package org.kextnet.loader;

import java.util.List;
import java.util.Map;

import org.kextnet.kpi.Registration;

/**
 * A snapshot of one server record ({@code kern_loader_server_info} plus the kextstat columns).
 *
 * @param index      kextstat index, in order of addition
 * @param address    start of its range in the loader's address map (0 when it holds none)
 * @param size       bytes of that range (page-rounded class bytes)
 * @param wired      bytes wired: with WIRE, the jar's class bytes, plus buffers from {@code allocateWired}
 * @param refs       loaded servers that depend on this one
 * @param faults     exceptions its code threw and that the loader contained
 * @param fault      why it is Faulted, or what got its extension stuck (null otherwise)
 * @param registrations live registrations by kind, sorted by kind (kernel ledger and KernServ handle)
 * @param health     how the kernel sees its extension: "" (healthy, or no extension), "Faulted" (a registration was
 *                   removed after repeated faults) or "Faulted (stuck)" (a call did not return within its hard limit)
 * @param hooks      its live kernel registrations, each with what the kernel counted of the calls into it
 */
public record ServerInfo(int index, String name, ServerState state, String relocatable, String loadable,
                         long address, long size, List<PortInfo> ports, String version, List<String> depends,
                         int refs, long wired, long faults, String fault, Map<String, Integer> registrations,
                         String health, List<Hook> hooks) {
    public ServerInfo {
        ports = List.copyOf(ports);
        depends = List.copyOf(depends);
        registrations = registrations.isEmpty() ? Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(registrations)); // by kind, for stable output
        health = health == null ? "" : health;
        hooks = List.copyOf(hooks);
    }

    /** A server whose extension is healthy, or that has none (no per-registration counters). */
    public ServerInfo(int index, String name, ServerState state, String relocatable, String loadable,
                      long address, long size, List<PortInfo> ports, String version, List<String> depends,
                      int refs, long wired, long faults, String fault, Map<String, Integer> registrations) {
        this(index, name, state, relocatable, loadable, address, size, ports, version, depends, refs, wired, faults, fault,
                registrations, "", List.of());
    }

    /**
     * The state as kl_util shows it: the server's state word, except that a Loaded server whose extension the kernel
     * quarantined shows the extension's health ("Faulted", "Faulted (stuck)"): it is loaded, but the kernel no longer
     * calls it (or only some of it).
     */
    public String stateLabel() {
        return state == ServerState.LOADED && !health.isEmpty() ? health : state.word();
    }

    /** One port of a server. */
    public record PortInfo(String name, boolean advertised) {}

    /**
     * One live kernel registration of the server (a filter, a control, a plumber...) and its counters.
     *
     * @param kind  "ipfilter", "iff", "sflt", "kctl", ... ({@link Registration#kind()})
     * @param name  the name it was registered with
     * @param state "active" or "detaching" (lower case {@link Registration.State})
     */
    public record Hook(String kind, String name, String state, Registration.Counters counters) {}
}
