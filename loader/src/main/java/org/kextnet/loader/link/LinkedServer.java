package org.kextnet.loader.link;

import java.util.List;

/**
 * A linked server: its class loader, its (uninitialised) server class and its resolved routines in script
 * order. Held from allocation until the end of the next unload, then dropped with the loader.
 *
 * @param needsInstance whether the loader makes one instance of the class per load
 * @param extension     whether the class implements {@link org.kextnet.kpi.KernelExtension} (start and stop)
 */
public record LinkedServer(ServerClassLoader loader, Class<?> serverClass, List<Routine> load, List<Routine> unload,
                           boolean needsInstance, boolean extension) {
    public LinkedServer {
        load = List.copyOf(load);
        unload = List.copyOf(unload);
    }

    public JarImage image() { return loader.image(); }
}
