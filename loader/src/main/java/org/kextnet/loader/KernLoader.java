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

import org.kextnet.loader.link.JarImage;
import org.kextnet.loader.link.LinkedServer;
import org.kextnet.loader.link.Linker;
import org.kextnet.loader.port.NameServer;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.script.ConfFile;
import org.kextnet.loader.script.ScriptException;
import org.kextnet.loader.script.ScriptParser;
import org.kextnet.loader.script.ServerScript;
import org.kextnet.loader.server.ServerContext;
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
    /** Longest a request waits for another's transient state to end. */
    static final long STABLE_WAIT_MILLIS = 120_000;

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
                log.log(3, e.toString());
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
            log.log(3, e.toString());
            throw e;
        }
        ServerRecord rec, replaced;
        synchronized (table) {
            replaced = table.get(script.name());
            if (replaced != null && !replaceable(replaced))
                throw logged(new LoaderException(LoaderError.SERVER_EXISTS, script.file() + ": server " + script.name() + " exists"));
            rec = new ServerRecord(this, nextIndex.getAndIncrement(), script);
            table.put(script.name(), rec);
        }
        log.log(6, script.name() + ": allocating from " + script.file());
        try {
            allocate(rec, script);
        } catch (LoaderException | RuntimeException e) {
            synchronized (table) {
                if (table.get(rec.name) == rec) {
                    if (replaced != null) table.put(rec.name, replaced); else table.remove(rec.name);
                }
            }
            rec.lock.lock();
            try {
                rec.set(ServerState.DEALLOCATED);
            } finally {
                rec.lock.unlock();
            }
            throw logged(e instanceof LoaderException le ? le : new LoaderException(LoaderError.INTERNAL, rec.name + ": " + e, e));
        }
        log.log(6, rec.name + ": allocated");
        if (script.start()) {
            try {
                load(rec);
            } catch (LoaderException e) {
                throw logged(e);
            }
        }
        return info(rec);
    }

    private static boolean replaceable(ServerRecord r) {
        r.lock.lock();
        try {
            return r.state == ServerState.FAULTED || r.state == ServerState.DEALLOCATED;
        } finally {
            r.lock.unlock();
        }
    }

    /** Allocating → Allocated: jar, link, ports, address range. On failure releases what it made. */
    private void allocate(ServerRecord rec, ServerScript script) throws LoaderException {
        JarImage image = JarImage.read(script.reloc());
        LinkedServer linked = Linker.link(script, image, dependencyLoaders(image));
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
            rec.lock.lock();
            try {
                if (rec.pleaseDie) throw new LoaderException(LoaderError.SERVER_DELETED, rec.name + ": deleted while allocating");
                rec.script = script;
                rec.image = image;
                rec.linked = linked;
                rec.ports = List.copyOf(ports);
                rec.address = address;
                rec.size = VmMap.round(image.classBytes());
                rec.fault = null;
                rec.set(ServerState.ALLOCATED);
            } finally {
                rec.lock.unlock();
            }
        } catch (LoaderException | RuntimeException e) {
            for (Port p : ports) {
                names.remove(p);
                p.kill(LoaderError.SERVER_DELETED, "allocation failed");
            }
            if (address >= 0) vm.free(address);
            throw e;
        }
    }

    /** The class loaders of the loaded servers {@code image} depends on (those loaded now). */
    private List<ClassLoader> dependencyLoaders(JarImage image) {
        List<ClassLoader> l = new ArrayList<>();
        for (String d : image.depends()) {
            ServerRecord r = find(d);
            if (r == null) continue;
            r.lock.lock();
            try {
                if (r.linked != null && (r.state == ServerState.LOADED || r.state == ServerState.DETACHED)) l.add(r.linked.loader());
            } finally {
                r.lock.unlock();
            }
        }
        return l;
    }

    // ---- load ----

    /** Loads a server now ({@code kl_util -l}); a no-op if it is loaded. */
    public void load(String name) throws LoaderException {
        load(require(name));
    }

    void demandLoad(ServerRecord rec, Port port) {
        log.log(6, rec.name + ": message on port " + port.name() + ", loading");
        Thread.ofVirtual().name("kern_loader-demand-" + rec.name).inheritInheritableThreadLocals(false).start(() -> {
            Thread.currentThread().setContextClassLoader(KernLoader.class.getClassLoader());
            try {
                load(rec);
            } catch (LoaderException e) {
                log.log(3, "demand load failed: " + e);
            }
        });
    }

    private void load(ServerRecord rec) throws LoaderException {
        Deque<String> chain = loadChain.get();
        if (chain.contains(rec.name)) throw new LoaderException(LoaderError.SERVER_WONT_LOAD, "dependency cycle: " + String.join(" -> ", chain) + " -> " + rec.name);
        LinkedServer linked;
        rec.lock.lock();
        try {
            awaitStable(rec);
            if (rec.pleaseDie) throw new LoaderException(LoaderError.SERVER_DELETED, rec.name + ": being deleted");
            switch (rec.state) {
                case LOADED, DETACHED -> { return; }
                case DEALLOCATED -> throw new LoaderException(LoaderError.SERVER_DELETED, rec.name + ": deleted");
                case FAULTED -> throw new LoaderException(LoaderError.SERVER_WONT_LOAD, rec.name + ": faulted (" + rec.fault + "); add it again");
                default -> { }
            }
            rec.set(ServerState.LOADING);
            for (Port p : rec.ports) p.loading();
            linked = rec.linked;
        } finally {
            rec.lock.unlock();
        }
        log.log(6, rec.name + ": loading");
        List<ServerRecord> deps = new ArrayList<>();
        try {
            if (linked == null || rec.image.changedOnDisk() || !rec.image.depends().isEmpty()) {
                JarImage image = rec.image;
                if (image.changedOnDisk()) {
                    log.log(5, rec.name + ": relocatable changed, re-initializing");
                    image = JarImage.read(rec.script.reloc());
                }
                deps = loadDependencies(rec, image);
                linked = Linker.link(rec.script, image, deps.stream().map(d -> (ClassLoader) d.linked.loader()).toList());
                rec.lock.lock();
                try {
                    rec.image = image;
                    rec.linked = linked;
                } finally {
                    rec.lock.unlock();
                }
            }
            LoadedServer ls = new LoadSequence(this, rec, linked, deps).run();
            rec.lock.lock();
            try {
                rec.loaded = ls;
                rec.set(ServerState.LOADED);
            } finally {
                rec.lock.unlock();
            }
            log.log(6, rec.name + ": loaded" + (rec.script.wire() ? ", wired " + ls.wiredClassBytes + " bytes" : ""));
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
                dr.lock.lock();
                try {
                    if (dr.state != ServerState.LOADED && dr.state != ServerState.DETACHED)
                        throw new LoaderException(LoaderError.SERVER_WONT_LOAD, rec.name + ": dependency " + d + " is " + dr.state.word());
                    dr.dependents.add(rec.name);
                    deps.add(dr);
                } finally {
                    dr.lock.unlock();
                }
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
        for (ServerRecord d : deps) {
            d.lock.lock();
            try {
                d.dependents.remove(rec.name);
            } finally {
                d.lock.unlock();
            }
        }
    }

    /** Faulted: frees everything (ports die with {@code portError}), keeps the record visible with its reason. */
    private void faultAndRelease(ServerRecord rec, String why, LoaderError portError) {
        List<Port> ports;
        rec.lock.lock();
        try {
            ports = rec.ports;
            rec.ports = List.of();
            rec.loaded = null;
            rec.linked = null;
            rec.fault = why;
            if (rec.address > 0) vm.free(rec.address);
            rec.address = 0;
            rec.size = 0;
            rec.set(ServerState.FAULTED);
        } finally {
            rec.lock.unlock();
        }
        for (Port p : ports) {
            names.remove(p); // unreachable first: whoever hears of the failure finds no port
            p.kill(portError, why);
        }
        log.log(3, rec.name + ": faulted: " + why);
    }

    // ---- unload ----

    /** Unloads a loaded server back to Allocated; its ports are held (re-advertised) for the next demand load. */
    public void unload(String name) throws LoaderException {
        unload(require(name));
    }

    private void unload(ServerRecord rec) throws LoaderException {
        LoadedServer ls;
        rec.lock.lock();
        try {
            awaitStable(rec);
            switch (rec.state) {
                case LOADED -> { }
                case DETACHED -> throw logged(new LoaderException(LoaderError.DETACHED, rec.name + ": detached, may not be unloaded"));
                case DEALLOCATED -> throw logged(new LoaderException(LoaderError.SERVER_DELETED, rec.name + ": deleted"));
                default -> throw logged(new LoaderException(LoaderError.SERVER_UNLOADED, rec.name + ": not loaded (" + rec.state.word() + ")"));
            }
            if (rec.script.detach()) throw logged(new LoaderException(LoaderError.DETACHED, rec.name + ": DETACH server, may not be unloaded"));
            if (!rec.dependents.isEmpty())
                throw logged(new LoaderException(LoaderError.WONT_UNLOAD, rec.name + ": in use by " + String.join(", ", rec.dependents)));
            ls = rec.loaded;
            rec.set(ServerState.UNLOADING);
        } finally {
            rec.lock.unlock();
        }
        log.log(6, rec.name + ": unloading");
        String forced = new UnloadSequence(this, rec, ls).run();
        releaseDependencies(rec, ls.dependencies);
        if (forced != null) {
            faultAndRelease(rec, "unload forced: " + forced, LoaderError.WONT_UNLOAD);
            throw logged(new LoaderException(LoaderError.WONT_UNLOAD, rec.name + ": " + forced + "; forcibly detached and deallocated"));
        }
        boolean again = false;
        rec.lock.lock();
        try {
            rec.loaded = null;
            rec.linked = null; // drop the class loader: the next load links afresh
            for (Port p : rec.ports) again |= p.hold();
            rec.set(ServerState.ALLOCATED);
        } finally {
            rec.lock.unlock();
        }
        log.log(6, rec.name + ": unloaded");
        if (again && !rec.pleaseDie) {
            Port first = rec.ports.get(0);
            demandLoad(rec, first);
        }
    }

    // ---- delete ----

    /** Deallocates a server (unloading it first); a DETACH server that is loaded becomes Detached instead. */
    public void delete(String name) throws LoaderException {
        ServerRecord rec = require(name);
        LoaderException forced = null;
        rec.lock.lock();
        try {
            if (rec.state == ServerState.ALLOCATING) rec.pleaseDie = true;
            awaitStable(rec);
            switch (rec.state) {
                case DEALLOCATED -> throw logged(new LoaderException(LoaderError.SERVER_DELETED, name + ": deleted"));
                case DETACHED -> throw logged(new LoaderException(LoaderError.DETACHED, name + ": detached"));
                case LOADED -> {
                    if (rec.script.detach()) {
                        rec.set(ServerState.DETACHED);
                        log.log(5, name + ": detached: stays loaded");
                        return;
                    }
                }
                default -> { }
            }
            if (rec.state == ServerState.LOADED && !rec.dependents.isEmpty())
                throw logged(new LoaderException(LoaderError.WONT_UNLOAD, name + ": in use by " + String.join(", ", rec.dependents)));
            rec.pleaseDie = true; // no demand load may start from here on
        } finally {
            rec.lock.unlock();
        }
        if (rec.state == ServerState.LOADED) {
            try {
                unload(rec);
            } catch (LoaderException e) {
                if (rec.state != ServerState.FAULTED) {
                    rec.lock.lock();
                    try {
                        rec.pleaseDie = false; // refused: nothing changed
                    } finally {
                        rec.lock.unlock();
                    }
                    throw e;
                }
                forced = e;
            }
        }
        List<Port> ports;
        rec.lock.lock();
        try {
            awaitStable(rec);
            if (rec.state == ServerState.LOADED) throw logged(new LoaderException(LoaderError.SERVER_LOADED, name + ": loaded again meanwhile"));
            ports = rec.ports;
            rec.ports = List.of();
            rec.linked = null;
            rec.image = null;
            if (rec.address > 0) vm.free(rec.address);
            rec.address = 0;
            rec.set(ServerState.DEALLOCATED);
        } finally {
            rec.lock.unlock();
        }
        for (Port p : ports) {
            names.remove(p);
            p.kill(LoaderError.SERVER_DELETED, name + " deleted");
        }
        synchronized (table) {
            table.remove(name, rec);
        }
        log.log(6, name + ": deallocated");
        if (forced != null) throw forced;
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
            List<ServerRecord> unloadable = new ArrayList<>();
            boolean anyLoaded = false;
            for (ServerRecord r : records()) {
                r.lock.lock();
                try {
                    if (r.state == ServerState.LOADED && !r.script.detach()) {
                        anyLoaded = true;
                        if (r.dependents.isEmpty()) unloadable.add(r);
                    }
                } finally {
                    r.lock.unlock();
                }
            }
            if (!anyLoaded || unloadable.isEmpty()) break;
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
                if (r.state != ServerState.DETACHED && !(r.state == ServerState.LOADED && r.script.detach())) delete(r.name);
            } catch (LoaderException e) {
                errors.add(e);
            }
        }
        log.log(5, restart ? "restarting: re-reading configuration" : "all servers deallocated");
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
        r.lock.lock();
        try {
            List<ServerInfo.PortInfo> ports = new ArrayList<>();
            for (Port p : r.ports) ports.add(new ServerInfo.PortInfo(p.name(), p.advertised()));
            if (ports.isEmpty() && (r.state == ServerState.ALLOCATING || r.state == ServerState.FAULTED)) {
                for (ServerScript.PortDecl d : r.script.ports()) ports.add(new ServerInfo.PortInfo(d.name(), d.advertised()));
            }
            Map<String, Integer> regs = new LinkedHashMap<>();
            long wired = 0, faults = r.faults;
            LoadedServer ls = r.loaded;
            if (ls != null) {
                ServerContext c = ls.context;
                regs.putAll(c.outstanding());
                options.ledger().outstanding(c).forEach((k, v) -> regs.merge(k, v, Integer::sum));
                wired = ls.wiredClassBytes + c.wiredBytes();
                faults += options.ledger().faults(c); // contained by the kernel in this load's callbacks
            }
            return new ServerInfo(r.index, r.name, r.state,
                    r.state == ServerState.ALLOCATING ? null : r.script.reloc().toString(), null,
                    r.address, r.size, ports, r.image != null ? r.image.version() : "",
                    r.image != null ? r.image.depends() : List.of(), r.dependents.size(), wired, faults, r.fault, regs);
        } finally {
            r.lock.unlock();
        }
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
            return r == null || r.state == ServerState.DEALLOCATED ? null : r;
        }
    }

    private ServerRecord require(String name) throws LoaderException {
        ServerRecord r = find(name);
        if (r == null) throw logged(new LoaderException(LoaderError.UNKNOWN_SERVER, name + ": unknown server"));
        return r;
    }

    private void awaitStable(ServerRecord rec) throws LoaderException {
        try {
            rec.awaitStable(STABLE_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoaderException(LoaderError.SERVER_WONT_LOAD, rec.name + ": interrupted while waiting");
        }
    }

    private LoaderException logged(LoaderException e) {
        log.log(3, e.toString());
        return e;
    }
}
