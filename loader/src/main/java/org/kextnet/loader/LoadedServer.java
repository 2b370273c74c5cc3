package org.kextnet.loader;

import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import org.kextnet.kpi.Kpi;
import org.kextnet.loader.port.ReplyPort;
import org.kextnet.loader.server.ServerContext;
import org.kextnet.loader.server.ServerThread;

/**
 * What exists only while a server is loaded: its instance, its thread, its KernServ handle, its routines
 * as method handles bound to the instance, and the reply ports it watches for PORT_DEATH. Dropped as a
 * whole at unload, so nothing here may be referenced from elsewhere afterwards.
 */
final class LoadedServer {
    final ServerContext context;
    final ServerThread thread;
    final Object instance;
    /** The KPI handle an extension was started with, or null for a server that is not a KernelExtension. */
    final Kpi kpi;
    /** (KernServ, int)int, in unload order. */
    final List<Call> free;
    /** (KernServ, long)void, or null. */
    final MethodHandle portDeath;
    final List<ServerRecord> dependencies;
    final long wiredClassBytes;
    final Set<ReplyPort> watched = ConcurrentHashMap.newKeySet();
    final Consumer<Long> deathWatcher;
    final Map<String, MethodHandle> maps;
    /** Each port's dispatcher, installed when the record becomes Loaded. */
    final Map<org.kextnet.loader.port.Port, org.kextnet.loader.port.Dispatcher> dispatchers = new java.util.LinkedHashMap<>();

    /** A bound INIT/FREE routine with its argument and its name (for messages). */
    record Call(String routine, MethodHandle handle, int arg) {}

    LoadedServer(ServerContext context, ServerThread thread, Object instance, Kpi kpi, List<Call> free, MethodHandle portDeath,
                 List<ServerRecord> dependencies, long wiredClassBytes, Map<String, MethodHandle> maps,
                 Consumer<Long> deathWatcher) {
        this.context = context;
        this.thread = thread;
        this.instance = instance;
        this.kpi = kpi;
        this.free = free;
        this.portDeath = portDeath;
        this.dependencies = dependencies;
        this.wiredClassBytes = wiredClassBytes;
        this.maps = maps;
        this.deathWatcher = deathWatcher;
    }
}
