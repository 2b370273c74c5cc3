package org.kextnet.loader.link;

import java.util.List;

/**
 * A linked server: its class loader, its (uninitialised) server class and its resolved routines in script
 * order. Held from allocation until the end of the next unload, then dropped with the loader.
 */
public record LinkedServer(ServerClassLoader loader, Class<?> serverClass, List<Routine> load, List<Routine> unload,
                           boolean needsInstance) {
    public LinkedServer {
        load = List.copyOf(load);
        unload = List.copyOf(unload);
    }

    public JarImage image() { return loader.image(); }
}
