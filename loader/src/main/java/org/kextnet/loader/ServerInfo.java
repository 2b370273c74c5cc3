package org.kextnet.loader;

import java.util.List;
import java.util.Map;

/**
 * A snapshot of one server record ({@code kern_loader_server_info} plus the kextstat columns).
 *
 * @param index      kextstat index, in order of addition
 * @param address    start of its range in the loader's address map (0 when it holds none)
 * @param size       bytes of that range (page-rounded class bytes)
 * @param wired      bytes wired: with WIRE, the jar's class bytes, plus buffers from {@code allocateWired}
 * @param refs       loaded servers that depend on this one
 * @param faults     exceptions its code threw and that the loader contained
 * @param fault      why it is Faulted (null otherwise)
 * @param registrations live registrations by kind, sorted by kind (kernel ledger and KernServ handle)
 */
public record ServerInfo(int index, String name, ServerState state, String relocatable, String loadable,
                         long address, long size, List<PortInfo> ports, String version, List<String> depends,
                         int refs, long wired, long faults, String fault, Map<String, Integer> registrations) {
    public ServerInfo {
        ports = List.copyOf(ports);
        depends = List.copyOf(depends);
        registrations = registrations.isEmpty() ? Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(registrations)); // by kind, for stable output
    }

    /** One port of a server. */
    public record PortInfo(String name, boolean advertised) {}
}
