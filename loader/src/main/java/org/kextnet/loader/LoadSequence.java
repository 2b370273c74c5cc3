package org.kextnet.loader;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.kpi.server.PortMessage;
import org.kextnet.loader.link.LinkedServer;
import org.kextnet.loader.link.Routine;
import org.kextnet.loader.port.Message;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.ReplyPort;
import org.kextnet.loader.script.ScriptCommand;
import org.kextnet.loader.server.ServerContext;
import org.kextnet.loader.server.ServerThread;

/**
 * The load sequence of one server, run while its record is Loading: a thread for the server, its
 * KernServ handle, WIRE (every class of the jar loaded and initialised on the server's thread), the
 * instance, an extension's {@code start(Kpi)}, then the load commands in file order (MAP binds a port, HMAP binds
 * it to its handler table, INIT runs a routine, PORT_DEATH registers the routine). The caller makes the ports serve (draining what
 * was queued) once the record is Loaded. On failure everything made so far is taken down again (kernel
 * registrations included) and the caller gets 109.
 */
final class LoadSequence {
    static final MethodType CALL = MethodType.methodType(int.class, KernServ.class, int.class);
    static final MethodType MAP = MethodType.methodType(int.class, KernServ.class, PortMessage.class, int.class);
    static final MethodType DEATH = MethodType.methodType(void.class, KernServ.class, long.class);

    private final KernLoader loader;
    private final ServerRecord rec;
    private final LinkedServer linked;
    private final List<ServerRecord> deps;
    private ServerThread thread;
    private ServerContext ctx;

    LoadSequence(KernLoader loader, ServerRecord rec, LinkedServer linked, List<ServerRecord> deps) {
        this.loader = loader;
        this.rec = rec;
        this.linked = linked;
        this.deps = deps;
    }

    /** Runs the sequence; on success the ports are serving and the returned server is ready to record. */
    LoadedServer run() throws LoaderException, InterruptedException {
        String name = rec.name;
        long callTimeout = loader.options().callTimeoutMillis();
        thread = new ServerThread(name, linked.loader(), rec::fault);
        ctx = new ServerContext(name, linked.image().version(), rec.script.ports().stream().map(p -> p.name()).toList(),
                loader.log(), thread, loader.timer(), loader.names(), loader.options().kpi(), rec::fault);
        try {
            // WIRE, the instance and the bound handles, on the server's own thread: static initialisers run there.
            Prepared p = onThread(() -> prepare(), callTimeout, "preparing");
            ctx.instance(p.instance);
            Kpi kpi = linked.extension() ? startExtension((KernelExtension) p.instance, callTimeout) : null;
            Map<String, MethodHandle> maps = new HashMap<>();
            MethodHandle death = null;
            List<LoadedServer.Call> free = new ArrayList<>();
            for (Bound b : p.unload) free.add(new LoadedServer.Call(b.routine.command().routine(), b.handle, b.arg));
            for (Bound b : p.load) {
                switch (b.routine.command()) {
                    case ScriptCommand.Map m -> maps.put(m.port(), MethodHandles.insertArguments(b.handle, 2, b.arg));
                    case ScriptCommand.HandlerMap h -> maps.put(h.port(), b.table.handle());
                    case ScriptCommand.PortDeath d -> death = b.handle;
                    case ScriptCommand.Call c -> {
                        int rc = onThread(() -> (int) b.handle.invokeExact((KernServ) ctx, b.arg), callTimeout, "INIT " + c.routine());
                        if (rc != 0) throw new LoaderException(LoaderError.SERVER_WONT_LOAD, name + ": INIT " + c.routine() + " returned " + rc);
                    }
                }
            }
            MethodHandle deathHandle = death;
            Consumer<Long> watcher = deathHandle == null ? null : port -> thread.post(() -> {
                try {
                    deathHandle.invokeExact((KernServ) ctx, (long) port);
                } catch (Throwable t) {
                    rec.fault(t);
                }
            });
            LoadedServer ls = new LoadedServer(ctx, thread, p.instance, kpi, free, deathHandle, deps, p.wiredClassBytes, maps, watcher);
            for (Port port : rec.ports) ls.dispatchers.put(port, dispatcher(ls, maps.get(port.name())));
            return ls;
        } catch (LoaderException | InterruptedException | RuntimeException e) {
            abandon();
            throw e;
        }
    }

    /**
     * An extension's {@code start(Kpi)}, on the server's thread, with a KPI handle bound to this load: after WIRE
     * and the instance, before the load commands, so INIT routines find the extension's registrations made.
     * A non-zero result, an exception or a timeout fails the load (109); {@link #abandon} then removes whatever
     * the extension registered.
     */
    private Kpi startExtension(KernelExtension ext, long callTimeout) throws LoaderException, InterruptedException {
        Kpi kpi = ctx.kpi(Kpi.class).orElseThrow(() -> new LoaderException(LoaderError.SERVER_WONT_LOAD,
                rec.name + ": is a KernelExtension, but no kernel is joined to this kern_loader"));
        int rc = onThread(() -> ext.start(kpi), callTimeout, "start");
        if (rc != 0) throw new LoaderException(LoaderError.SERVER_WONT_LOAD, rec.name + ": start returned " + Errno.name(rc));
        loader.log().log(LogPriority.INFO, rec.name + ": started, registrations " + loader.options().ledger().outstanding(ctx));
        return kpi;
    }

    /**
     * Takes down what the failed sequence made: the KernServ handle, the kernel registrations (waiting, within
     * the drain timeout, for their final callbacks), the KPI handle and the thread.
     */
    private void abandon() throws InterruptedException {
        long drain = loader.options().drainTimeoutMillis();
        ctx.revoke();
        UnloadSequence.removeStragglers(loader, rec.name, ctx, drain);
        long kernelFaults = loader.options().ledger().faults(ctx);
        loader.options().ledger().release(ctx);
        rec.addFaults(kernelFaults);
        thread.shutdown(drain);
    }

    /** A routine bound for this load; {@code table} is HMAP's handler table (null for the other commands). */
    private record Bound(Routine routine, MethodHandle handle, int arg, HandlerTable table) {}
    private record Prepared(Object instance, List<Bound> load, List<Bound> unload, long wiredClassBytes) {}

    private Prepared prepare() throws Exception {
        long wired = 0;
        if (rec.script.wire()) {
            for (String cn : new TreeSet<>(linked.image().classNames())) Class.forName(cn, true, linked.loader());
            wired = linked.image().classBytes();
        }
        Object instance = linked.needsInstance() ? linked.serverClass().getConstructor().newInstance() : null;
        return new Prepared(instance, bind(linked.load(), instance), bind(linked.unload(), instance), wired);
    }

    private List<Bound> bind(List<Routine> routines, Object instance) throws ReflectiveOperationException, LoaderException {
        List<Bound> out = new ArrayList<>();
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        for (Routine r : routines) {
            MethodHandle h = lookup.unreflect(r.method());
            if (!r.isStatic()) h = h.bindTo(instance);
            MethodType t = switch (r.command()) {
                case ScriptCommand.Map m -> MAP;
                case ScriptCommand.HandlerMap hm -> MAP;
                case ScriptCommand.Call c -> CALL;
                case ScriptCommand.PortDeath d -> DEATH;
            };
            h = h.asType(t);
            HandlerTable table = r.command() instanceof ScriptCommand.HandlerMap hm
                    ? HandlerTable.read(hm, rec.script.file(), r.table(), instance, h) : null;
            out.add(new Bound(r, h, r.argValue(), table));
        }
        return out;
    }

    private interface Step<T> {
        T run() throws Throwable;
    }

    private <T> T onThread(Step<T> step, long timeout, String what) throws LoaderException, InterruptedException {
        try {
            return thread.call(() -> {
                try {
                    return step.run();
                } catch (Exception | Error e) {
                    throw e;
                } catch (Throwable t) {
                    throw new RuntimeException(t);
                }
            }, timeout);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof LoaderException le) throw le;
            rec.fault(cause);
            throw new LoaderException(LoaderError.SERVER_WONT_LOAD, rec.name + ": " + what + " failed: " + cause, cause);
        } catch (TimeoutException e) {
            throw new LoaderException(LoaderError.SERVER_WONT_LOAD, rec.name + ": " + what + " did not finish within " + timeout + " ms");
        }
    }

    /** The dispatcher of one port: calls its MAP routine, contains faults, and watches reply ports for PORT_DEATH. */
    private org.kextnet.loader.port.Dispatcher dispatcher(LoadedServer ls, MethodHandle map) {
        ServerContext c = ls.context;
        return (Message m) -> {
            if (ls.deathWatcher != null && m.replyPort() != 0) watch(ls, m.replyPort());
            try {
                int rc = (int) map.invokeExact((KernServ) c, (PortMessage) m);
                if (rc != 0) m.replyError(rc);
            } catch (Throwable t) {
                rec.fault(t);
                m.fail(LoaderError.SERVER_FAULT, rec.name + ": " + m.port() + " routine threw " + t);
            }
        };
    }

    private void watch(LoadedServer ls, long replyPort) {
        ReplyPort r = loader.names().replyPort(replyPort);
        if (r != null && ls.watched.add(r) && !r.watch(ls.deathWatcher)) ls.watched.remove(r);
    }
}
