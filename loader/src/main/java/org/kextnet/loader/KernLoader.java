package org.kextnet.loader;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.link.JarImage;
import org.kextnet.loader.link.LinkedServer;
import org.kextnet.loader.link.Linker;
import org.kextnet.loader.port.NameServer;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.script.ConfFile;
import org.kextnet.loader.script.ScriptException;
import org.kextnet.loader.script.ScriptParser;
import org.kextnet.loader.script.ServerScript;
import org.kextnet.loader.server.VmMap;

/**
 * kern_loader itself: the table of server records and the operations on them ({@code kern_loader_add_server},
 * {@code _load_server}, {@code _unload_server}, {@code _delete_server}, {@code _server_info}, {@code _abort}),
 * the name server holding the servers' ports, and demand loading. Thread-safe; each record has its own lock
 * and condition, and requests that meet a transient state wait for it to end.
 *
 * <p>A failed operation throws {@link LoaderException} with its kern_loader code and leaves every other
 * server as it was; a refused one (wrong state, dependents) changes nothing at all.
 */
public final class KernLoader implements AutoCloseable {
    private final LoaderOptions options;
    private final LogHub log = new LogHub();
    private final NameServer names = new NameServer();
    private final VmMap vm = new VmMap(0x1000_0000L, 0x1000_0000L);
    private final ScheduledThreadPoolExecutor timer;
    private final Map<String, ServerRecord> table = new LinkedHashMap<>();
    private final AtomicInteger nextIndex = new AtomicInteger(1);
    private final ThreadLocal<Deque<String>> loadChain = ThreadLocal.withInitial(ArrayDeque::new);
    private volatile List<Path> bootScripts = List.of();
    private volatile Path conf;

    public KernLoader(LoaderOptions options) {
        this.options = options;
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            // Created lazily, possibly on a server's thread: never inherit that server's class loader.
            Thread t = Thread.ofPlatform().name("kern_loader-timeouts").daemon().inheritInheritableThreadLocals(false).unstarted(r);
            t.setContextClassLoader(KernLoader.class.getClassLoader());
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
    }

    public KernLoader() {
        this(LoaderOptions.defaults());
    }

    public LogHub log() { return log; }
    public NameServer names() { return names; }
    LoaderOptions options() { return options; }
    ScheduledThreadPoolExecutor timer() { return timer; }

    // ---- configuration ----

    /**
     * Allocates the command-line scripts, then the configuration file's, each group concurrently (one
     * thread per server). Remembers both for {@link #abort restart}.
     * @return the errors, one per script that failed; the others are allocated
     */
    public List<LoaderException> configure(List<Path> scripts, Path confFile) {
        this.bootScripts = List.copyOf(scripts);
        this.conf = confFile;
        return allocateBoot();
    }

    private List<LoaderException> allocateBoot() {
        List<LoaderException> errors = new ArrayList<>(addAll(bootScripts));
        if (conf != null) {
            try {
                errors.addAll(addAll(ConfFile.read(conf).stream().map(ConfFile.Entry::script).toList()));
            } catch (ScriptException e) {
                errors.add(e);
                log.log(LogPriority.ERR, e.toString());
            }
        }
        return errors;
    }

    /** Adds scripts concurrently; returns the failures in script order. */
    public List<LoaderException> addAll(List<Path> scripts) {
        List<Thread> threads = new ArrayList<>();
        LoaderException[] errs = new LoaderException[scripts.size()];
        for (int i = 0; i < scripts.size(); i++) {
            int k = i;
            threads.add(Thread.ofVirtual().name("kern_loader-add").start(() -> {
                try {
                    add(scripts.get(k));
                } catch (LoaderException e) {
                    errs[k] = e;
                }
            }));
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        List<LoaderException> out = new ArrayList<>();
        for (LoaderException e : errs) if (e != null) out.add(e);
        return out;
    }

    // ---- add / allocate ----

    /**
     * Allocates the server a script describes: parses it, reads and links its jar, creates and advertises
     * its ports; with START, loads it. 106 if a server of that name exists (a Faulted one is replaced).
     */
    public ServerInfo add(Path scriptFile) throws LoaderException {
        ServerScript script;
        try {
            script = ScriptParser.parse(scriptFile);
        } catch (ScriptException e) {
            log.log(LogPriority.ERR, e.toString());
            throw e;
        }
        ServerRecord rec, replaced;
        synchronized (table) {
            replaced = table.get(script.name());
            if (replaced != null && !replaced.replaceable())
                throw logged(new LoaderException(LoaderError.SERVER_EXISTS, script.file() + ": server " + script.name() + " exists"));
            rec = new ServerRecord(this, nextIndex.getAndIncrement(), script);
            table.put(script.name(), rec);
        }
        log.log(LogPriority.INFO, script.name() + ": allocating from " + script.file());
        try {
            allocate(rec, script);
        } catch (LoaderException | RuntimeException e) {
            synchronized (table) {
                if (table.get(rec.name) == rec) {
                    if (replaced != null) table.put(rec.name, replaced); else table.remove(rec.name);
                }
            }
            rec.allocationFailed();
            throw logged(e instanceof LoaderException le ? le : new LoaderException(LoaderError.INTERNAL, rec.name + ": " + e, e));
        }
        log.log(LogPriority.INFO, rec.name + ": allocated");
        if (script.start()) {
            try {
                load(rec);
            } catch (LoaderException e) {
                throw logged(e);
            }
        }
        return info(rec);
    }

    /** Allocating → Allocated: jar, link, ports, address range. On failure releases what it made. */
    private void allocate(ServerRecord rec, ServerScript script) throws LoaderException {
        for (ServerScript.Skipped s : script.skipped())
            log.log(LogPriority.WARNING, script.file() + ":" + s.line() + ": skipped, not a command (a command starts with a capital letter A-Z): '" + s.text() + "'");
        JarImage image = JarImage.read(script.reloc());
        LinkedServer linked = Linker.link(script, image, dependencyLoaders(image));
        writeLoadable(script, image);
        List<Port> ports = new ArrayList<>();
        long address = -1;
        try {
            for (ServerScript.PortDecl d : script.ports()) {
                try {
                    ports.add(names.create(d.name(), d.advertised(), rec));
                } catch (LoaderException e) {
                    throw new ScriptException(script.file(), d.line(), LoaderError.PORT_EXISTS, e.getMessage());
                }
            }
            address = vm.allocate(image.classBytes());
            if (address < 0) throw new LoaderException(LoaderError.MEM_ALLOC_PROBLEM, rec.name + ": loader address map full");
            rec.allocated(script, image, linked, ports, address, VmMap.round(image.classBytes()));
        } catch (LoaderException | RuntimeException e) {
            for (Port p : ports) {
                names.remove(p);
                p.kill(LoaderError.SERVER_DELETED, "allocation failed");
            }
            if (address >= 0) vm.free(address);
            throw e;
        }
    }

    /** {@code LOADABLE}: the image just read, written where the script says; 110 if it cannot be. */
    private void writeLoadable(ServerScript script, JarImage image) throws LoaderException {
        if (script.loadable() == null) return;
        try {
            image.write(script.loadable());
        } catch (java.io.IOException | RuntimeException e) {
            throw new ScriptException(script.file(), 0, LoaderError.CANT_OPEN_SERVER, "LOADABLE " + script.loadable() + ": cannot write it: " + e);
        }
    }

    /** The class loaders of the loaded servers {@code image} depends on (those loaded now). */
    private List<ClassLoader> dependencyLoaders(JarImage image) {
        List<ClassLoader> l = new ArrayList<>();
        for (String d : image.depends()) {
            ServerRecord r = find(d);
            ClassLoader cl = r == null ? null : r.classLoaderForDependents();
            if (cl != null) l.add(cl);
        }
        return l;
    }

    // ---- load ----

    /** Loads a server now ({@code kl_util -l}); a no-op if it is loaded. */
    public void load(String name) throws LoaderException {
        load(require(name));
    }

    void demandLoad(ServerRecord rec, Port port) {
        log.log(LogPriority.INFO, rec.name + ": message on port " + port.name() + ", loading");
        Thread.ofVirtual().name("kern_loader-demand-" + rec.name).inheritInheritableThreadLocals(false).start(() -> {
            Thread.currentThread().setContextClassLoader(KernLoader.class.getClassLoader());
            try {
                load(rec);
            } catch (LoaderException e) {
                log.log(LogPriority.ERR, "demand load failed: " + e);
            }
        });
    }

    private void load(ServerRecord rec) throws LoaderException {
        Deque<String> chain = loadChain.get();
        if (chain.contains(rec.name)) throw new LoaderException(LoaderError.SERVER_WONT_LOAD, "dependency cycle: " + String.join(" -> ", chain) + " -> " + rec.name);
        if (!rec.beginLoad()) return; // loaded already
        LinkedServer linked = rec.linked; // the record is Loading: this thread owns its fields
        log.log(LogPriority.INFO, rec.name + ": loading");
        List<ServerRecord> deps = new ArrayList<>();
        try {
            if (linked == null || rec.image.changedOnDisk() || !rec.image.depends().isEmpty()) {
                JarImage image = rec.image;
                if (image.changedOnDisk()) {
                    log.log(LogPriority.NOTICE, rec.name + ": relocatable changed, re-initializing");
                    image = JarImage.read(rec.script.reloc());
                    writeLoadable(rec.script, image);
                }
                deps = loadDependencies(rec, image);
                linked = Linker.link(rec.script, image, deps.stream().map(d -> (ClassLoader) d.linked.loader()).toList());
                rec.relinked(image, linked);
            }
            LoadedServer ls = new LoadSequence(this, rec, linked, deps).run();
            rec.loaded(ls);
            log.log(LogPriority.INFO, rec.name + ": loaded" + (rec.script.wire() ? ", wired " + ls.wiredClassBytes + " bytes" : ""));
            // Deliver what was queued, in order, then serve directly; an unload waits for this drain.
            ls.dispatchers.forEach(Port::serve);
        } catch (LoaderException | RuntimeException | InterruptedException e) {
            releaseDependencies(rec, deps);
            LoaderException le = e instanceof LoaderException x ? x
                    : new LoaderException(LoaderError.SERVER_WONT_LOAD, rec.name + ": " + e, e);
            faultAndRelease(rec, le.getMessage(), LoaderError.SERVER_WONT_LOAD);
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw le;
        }
    }

    private List<ServerRecord> loadDependencies(ServerRecord rec, JarImage image) throws LoaderException {
        List<ServerRecord> deps = new ArrayList<>();
        Deque<String> chain = loadChain.get();
        chain.push(rec.name);
        try {
            for (String d : image.depends()) {
                ServerRecord dr = find(d);
                if (dr == null) throw new LoaderException(LoaderError.SERVER_WONT_LOAD, rec.name + ": depends on unknown server " + d);
                load(dr);
                dr.addDependent(rec.name);
                deps.add(dr);
            }
            return deps;
        } catch (LoaderException e) {
            releaseDependencies(rec, deps);
            throw e;
        } finally {
            chain.pop();
        }
    }

    private static void releaseDependencies(ServerRecord rec, List<ServerRecord> deps) {
        for (ServerRecord d : deps) d.removeDependent(rec.name);
    }

    /** Faulted: frees everything (ports die with {@code portError}), keeps the record visible with its reason. */
    private void faultAndRelease(ServerRecord rec, String why, LoaderError portError) {
        free(rec.faulted(why), portError, why);
        log.log(LogPriority.ERR, rec.name + ": faulted: " + why);
    }

    // ---- unload ----

    /** Unloads a loaded server back to Allocated; its ports are held (re-advertised) for the next demand load. */
    public void unload(String name) throws LoaderException {
        unload(require(name));
    }

    private void unload(ServerRecord rec) throws LoaderException {
        LoadedServer ls;
        try {
            ls = rec.beginUnload();
        } catch (LoaderException e) {
            throw logged(e);
        }
        log.log(LogPriority.INFO, rec.name + ": unloading");
        String forced = new UnloadSequence(this, rec, ls).run();
        releaseDependencies(rec, ls.dependencies);
        if (forced != null) {
            faultAndRelease(rec, "unload forced: " + forced, LoaderError.WONT_UNLOAD);
            throw logged(new LoaderException(LoaderError.WONT_UNLOAD, rec.name + ": " + forced + "; forcibly detached and deallocated"));
        }
        Port queued = rec.unloaded();
        log.log(LogPriority.INFO, rec.name + ": unloaded");
        if (queued != null) demandLoad(rec, queued);
    }

    // ---- delete ----

    /** Deallocates a server (unloading it first); a DETACH server that is loaded becomes Detached instead. */
    public void delete(String name) throws LoaderException {
        ServerRecord rec = require(name);
        ServerRecord.DeleteStep step;
        try {
            step = rec.beginDelete();
        } catch (LoaderException e) {
            throw logged(e);
        }
        if (step == ServerRecord.DeleteStep.DETACHED) {
            log.log(LogPriority.NOTICE, name + ": detached: stays loaded");
            return;
        }
        LoaderException forced = null;
        if (step == ServerRecord.DeleteStep.UNLOAD_FIRST) {
            try {
                unload(rec);
            } catch (LoaderException e) {
                if (rec.state() != ServerState.FAULTED) {
                    rec.deleteRefused(); // refused: nothing changed
                    throw e;
                }
                forced = e;
            }
        }
        ServerRecord.Released released;
        try {
            released = rec.deallocate();
        } catch (LoaderException e) {
            throw logged(e);
        }
        free(released, LoaderError.SERVER_DELETED, name + " deleted");
        synchronized (table) {
            table.remove(name, rec);
        }
        log.log(LogPriority.INFO, name + ": deallocated");
        if (forced != null) throw forced;
    }

    /** Frees what a record gave back: its address range, and its ports (unreachable first, then failing what they queued). */
    private void free(ServerRecord.Released r, LoaderError portError, String why) {
        if (r.address() > 0) vm.free(r.address());
        for (Port p : r.ports()) {
            names.remove(p); // whoever hears of the failure finds no port
            p.kill(portError, why);
        }
    }

    // ---- abort / restart ----

    /**
     * Unloads and deallocates every server, dependents first; with {@code restart}, allocates the boot
     * scripts and configuration file again. Detached servers stay.
     * @return the errors met on the way (the rest went on)
     */
    public List<LoaderException> abort(boolean restart) {
        List<LoaderException> errors = new ArrayList<>();
        for (int round = 0; round < 64; round++) {
            // Servers no other loaded server depends on, so dependents go first.
            List<ServerRecord> unloadable = records().stream().filter(r -> r.loadedAndManaged() && !r.hasDependents()).toList();
            if (unloadable.isEmpty()) break;
            for (ServerRecord r : unloadable) {
                try {
                    unload(r);
                } catch (LoaderException e) {
                    errors.add(e);
                }
            }
        }
        for (ServerRecord r : records()) {
            try {
                if (!r.survivesAbort()) delete(r.name);
            } catch (LoaderException e) {
                errors.add(e);
            }
        }
        log.log(LogPriority.NOTICE, restart ? "restarting: re-reading configuration" : "all servers deallocated");
        if (restart) errors.addAll(allocateBoot());
        return errors;
    }

    @Override public void close() {
        abort(false);
        timer.shutdownNow();
    }

    // ---- queries ----

    /** Every server not deallocated, in order of addition ({@code kern_loader_server_list}). */
    public List<ServerInfo> list() {
        List<ServerInfo> l = new ArrayList<>();
        for (ServerRecord r : records()) {
            ServerInfo i = info(r);
            if (i.state() != ServerState.DEALLOCATED) l.add(i);
        }
        return l;
    }

    /** One server's record ({@code kern_loader_server_info}); 102 if unknown. */
    public ServerInfo info(String name) throws LoaderException {
        return info(require(name));
    }

    private ServerInfo info(ServerRecord r) {
        return r.info(options);
    }

    // ---- helpers ----

    private List<ServerRecord> records() {
        synchronized (table) {
            return new ArrayList<>(table.values());
        }
    }

    ServerRecord find(String name) {
        synchronized (table) {
            ServerRecord r = table.get(name);
            return r == null || r.state() == ServerState.DEALLOCATED ? null : r;
        }
    }

    private ServerRecord require(String name) throws LoaderException {
        ServerRecord r = find(name);
        if (r == null) throw logged(new LoaderException(LoaderError.UNKNOWN_SERVER, name + ": unknown server"));
        return r;
    }

    private LoaderException logged(LoaderException e) {
        log.log(LogPriority.ERR, e.toString());
        return e;
    }
}
