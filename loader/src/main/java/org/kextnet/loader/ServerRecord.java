package org.kextnet.loader;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kpi.Registration;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.link.JarImage;
import org.kextnet.loader.link.LinkedServer;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.PortOwner;
import org.kextnet.loader.script.ServerScript;
import org.kextnet.loader.server.RegistrationLedger;
import org.kextnet.loader.server.ServerContext;

/**
 * One server's record and its state machine. Every change of state is one of the events below (allocated, begin
 * load, loaded, fault, begin unload, unloaded, begin delete, deallocate...), each of which checks the state and
 * moves it under {@link #lock} through {@link #moveTo}, the one place the state is written, which refuses any
 * move {@link ServerState#successors} does not list. A refused request throws {@link LoaderException} and leaves
 * the record as it was.
 *
 * <p>{@link #state} is volatile and may be read anywhere; the other fields are guarded by the lock, except that the
 * thread which moved the record into a transient state (Allocating, Loading, Unloading) owns {@link #script},
 * {@link #image}, {@link #linked}, {@link #ports} and {@link #loaded} until it moves it out: others wait for a
 * stable state ({@link #changed} is signalled on every move) or read them under the lock.
 */
final class ServerRecord implements PortOwner {
    /** Longest a request waits for another's transient state to end. */
    static final long STABLE_WAIT_MILLIS = 120_000;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    final int index;
    final String name;
    final KernLoader loader;

    private volatile ServerState state = ServerState.ALLOCATING;
    ServerScript script;
    JarImage image;
    LinkedServer linked;
    List<Port> ports = List.of();
    long address, size;
    LoadedServer loaded;
    /** Loaded servers that depend on this one. */
    private final List<String> dependents = new ArrayList<>();
    private long faults;
    private String fault;
    /** A delete is under way: no load may start. */
    private boolean pleaseDie;

    ServerRecord(KernLoader loader, int index, ServerScript script) {
        this.loader = loader;
        this.index = index;
        this.name = script.name();
        this.script = script;
    }

    /** The current state; safe to read without the lock (it may change right after). */
    ServerState state() { return state; }

    /**
     * The one place the state changes: under the record's lock, and only to one of the current state's
     * {@linkplain ServerState#successors successors}. Any other move is refused with an {@link IllegalStateException}
     * and changes nothing (a loader bug: every request checks the state first and refuses with a kern_loader code).
     */
    void moveTo(ServerState next) {
        lock.lock();
        try {
            if (!state.canBecome(next)) throw new IllegalStateException(name + ": no transition " + state.word() + " -> " + next.word());
            state = next;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // ---- allocation ----

    /** Allocating → Allocated with what allocation made; 113 (nothing recorded) if a delete came meanwhile. */
    void allocated(ServerScript script, JarImage image, LinkedServer linked, List<Port> ports, long address, long size) throws LoaderException {
        lock.lock();
        try {
            if (pleaseDie) throw new LoaderException(LoaderError.SERVER_DELETED, name + ": deleted while allocating");
            this.script = script;
            this.image = image;
            this.linked = linked;
            this.ports = List.copyOf(ports);
            this.address = address;
            this.size = size;
            this.fault = null;
            moveTo(ServerState.ALLOCATED);
        } finally {
            lock.unlock();
        }
    }

    /** Allocating → Deallocated: the allocation failed (and released what it made). */
    void allocationFailed() {
        moveTo(ServerState.DEALLOCATED);
    }

    /** Whether a new server of this name may take this record's place (it is Faulted or Deallocated). */
    boolean replaceable() {
        ServerState s = state;
        return s == ServerState.FAULTED || s == ServerState.DEALLOCATED;
    }

    // ---- load ----

    /**
     * Allocated → Loading, after any transient state has ended; the ports queue from here on.
     * @return false if the server is loaded already (a no-op)
     * @throws LoaderException 113 if deleted or being deleted, 109 if Faulted; the record unchanged
     */
    boolean beginLoad() throws LoaderException {
        lock.lock();
        try {
            awaitStable();
            if (pleaseDie) throw new LoaderException(LoaderError.SERVER_DELETED, name + ": being deleted");
            switch (state) {
                case LOADED, DETACHED -> { return false; }
                case DEALLOCATED -> throw new LoaderException(LoaderError.SERVER_DELETED, name + ": deleted");
                case FAULTED -> throw new LoaderException(LoaderError.SERVER_WONT_LOAD, name + ": faulted (" + fault + "); add it again");
                default -> { }
            }
            moveTo(ServerState.LOADING);
            for (Port p : ports) p.loading();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** While Loading: the jar was read again or linked afresh. */
    void relinked(JarImage image, LinkedServer linked) {
        lock.lock();
        try {
            requireState(ServerState.LOADING);
            this.image = image;
            this.linked = linked;
        } finally {
            lock.unlock();
        }
    }

    /** Loading → Loaded: the load sequence ran. */
    void loaded(LoadedServer ls) {
        lock.lock();
        try {
            requireState(ServerState.LOADING);
            loaded = ls;
            moveTo(ServerState.LOADED);
        } finally {
            lock.unlock();
        }
    }

    /** The class loader a dependent links against: this server's, while it is Loaded or Detached; else null. */
    ClassLoader classLoaderForDependents() {
        return locked(() -> linked != null && (state == ServerState.LOADED || state == ServerState.DETACHED) ? linked.loader() : null);
    }

    /** {@code dependent} holds a reference: 109 (nothing changes) unless this server is Loaded or Detached. */
    void addDependent(String dependent) throws LoaderException {
        lock.lock();
        try {
            if (state != ServerState.LOADED && state != ServerState.DETACHED)
                throw new LoaderException(LoaderError.SERVER_WONT_LOAD, dependent + ": dependency " + name + " is " + state.word());
            dependents.add(dependent);
        } finally {
            lock.unlock();
        }
    }

    void removeDependent(String dependent) {
        locked(() -> dependents.remove(dependent));
    }

    /** What a fault or a deallocation took from the record: the caller kills the ports and frees the range. */
    record Released(List<Port> ports, long address) {}

    /** Loading or Unloading → Faulted: the record keeps only its reason; everything else is handed back. */
    Released faulted(String why) {
        lock.lock();
        try {
            Released r = release();
            loaded = null;
            fault = why;
            moveTo(ServerState.FAULTED);
            return r;
        } finally {
            lock.unlock();
        }
    }

    // ---- unload ----

    /**
     * Loaded → Unloading, after any transient state has ended.
     * @return the loaded server to take down
     * @throws LoaderException 115 (DETACH or Detached), 113 (deleted), 104 (not loaded), 114 (others depend on
     *         it); the record unchanged
     */
    LoadedServer beginUnload() throws LoaderException {
        lock.lock();
        try {
            awaitStable();
            switch (state) {
                case LOADED -> { }
                case DETACHED -> throw new LoaderException(LoaderError.DETACHED, name + ": detached, may not be unloaded");
                case DEALLOCATED -> throw new LoaderException(LoaderError.SERVER_DELETED, name + ": deleted");
                default -> throw new LoaderException(LoaderError.SERVER_UNLOADED, name + ": not loaded (" + state.word() + ")");
            }
            if (script.detach()) throw new LoaderException(LoaderError.DETACHED, name + ": DETACH server, may not be unloaded");
            if (!dependents.isEmpty()) throw inUse();
            moveTo(ServerState.UNLOADING);
            return loaded;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Unloading → Allocated: the class loader is dropped (the next load links afresh) and the ports are held again.
     * @return a port with queued messages if the server should load again at once (none if a delete is under way)
     */
    Port unloaded() {
        lock.lock();
        try {
            requireState(ServerState.UNLOADING);
            loaded = null;
            linked = null;
            boolean again = false;
            for (Port p : ports) again |= p.hold();
            moveTo(ServerState.ALLOCATED);
            return again && !pleaseDie ? ports.get(0) : null;
        } finally {
            lock.unlock();
        }
    }

    // ---- delete ----

    /** What a delete does next, as {@link #beginDelete} decided. */
    enum DeleteStep { DETACHED, UNLOAD_FIRST, DEALLOCATE }

    /**
     * Starts a delete: waits for a transient state to end (an allocation under way is told to give up) and marks the
     * record, so that no load starts from here on. A loaded DETACH server becomes Detached instead (the delete ends).
     * @throws LoaderException 113 (deleted), 115 (Detached), 114 (others depend on it); the record unchanged
     */
    DeleteStep beginDelete() throws LoaderException {
        lock.lock();
        boolean wasDying = pleaseDie;
        try {
            if (state == ServerState.ALLOCATING) pleaseDie = true;
            awaitStable();
            switch (state) {
                case DEALLOCATED -> throw new LoaderException(LoaderError.SERVER_DELETED, name + ": deleted");
                case DETACHED -> throw new LoaderException(LoaderError.DETACHED, name + ": detached");
                case LOADED -> {
                    if (script.detach()) {
                        moveTo(ServerState.DETACHED);
                        return DeleteStep.DETACHED;
                    }
                    if (!dependents.isEmpty()) throw inUse();
                }
                default -> { }
            }
            pleaseDie = true;
            return state == ServerState.LOADED ? DeleteStep.UNLOAD_FIRST : DeleteStep.DEALLOCATE;
        } catch (LoaderException | RuntimeException e) {
            pleaseDie = wasDying;
            throw e;
        } finally {
            lock.unlock();
        }
    }

    /** The unload that a delete began with was refused: the record is as it was before the delete. */
    void deleteRefused() {
        locked(() -> pleaseDie = false);
    }

    /**
     * Allocated or Faulted → Deallocated, after any transient state has ended.
     * @throws LoaderException 103 if it was loaded again meanwhile; the record unchanged
     */
    Released deallocate() throws LoaderException {
        lock.lock();
        try {
            awaitStable();
            if (state == ServerState.LOADED) throw new LoaderException(LoaderError.SERVER_LOADED, name + ": loaded again meanwhile");
            Released r = release();
            image = null;
            moveTo(ServerState.DEALLOCATED);
            return r;
        } finally {
            lock.unlock();
        }
    }

    // ---- abort ----

    /** Loaded and may be unloaded by an abort (not a DETACH server). */
    boolean loadedAndManaged() {
        return locked(() -> state == ServerState.LOADED && !script.detach());
    }

    boolean hasDependents() {
        return locked(() -> !dependents.isEmpty());
    }

    /** Whether an abort leaves this server (it is Detached, or a loaded DETACH server that a delete detaches). */
    boolean survivesAbort() {
        return locked(() -> state == ServerState.DETACHED || state == ServerState.LOADED && script.detach());
    }

    // ---- faults and status ----

    /** Adds faults the kernel counted for the server (its callbacks' contained exceptions) at the end of a load. */
    void addFaults(long n) {
        if (n != 0) locked(() -> faults += n);
    }

    /** A fault of the server's code, contained by the loader: counted and logged. */
    void fault(Throwable t) {
        addFaults(1);
        loader.log().log(LogPriority.ERR, name + ": fault: " + t);
    }

    /** A snapshot for {@code kern_loader_server_info}, with the kernel's registrations and faults from {@code options}. */
    ServerInfo info(LoaderOptions options) {
        lock.lock();
        try {
            List<ServerInfo.PortInfo> portInfo = new ArrayList<>();
            for (Port p : ports) portInfo.add(new ServerInfo.PortInfo(p.name(), p.advertised()));
            if (portInfo.isEmpty() && (state == ServerState.ALLOCATING || state == ServerState.FAULTED)) {
                for (ServerScript.PortDecl d : script.ports()) portInfo.add(new ServerInfo.PortInfo(d.name(), d.advertised()));
            }
            Map<String, Integer> regs = new LinkedHashMap<>();
            List<ServerInfo.Hook> hooks = new ArrayList<>();
            long wired = 0, allFaults = faults;
            String health = "", why = fault;
            LoadedServer ls = loaded;
            if (ls != null) {
                ServerContext c = ls.context;
                RegistrationLedger ledger = options.ledger();
                regs.putAll(c.outstanding());
                ledger.outstanding(c).forEach((k, v) -> regs.merge(k, v, Integer::sum));
                wired = ls.wiredClassBytes + c.wiredBytes();
                allFaults += ledger.faults(c); // contained by the kernel in this load's callbacks
                for (Registration r : ledger.registrations(c)) {
                    hooks.add(new ServerInfo.Hook(r.kind(), r.name(), r.state().name().toLowerCase(java.util.Locale.ROOT), r.counters()));
                }
                health = ledger.health(c);
                if (why == null) why = ledger.stuckIn(c);
            }
            return new ServerInfo(index, name, state,
                    state == ServerState.ALLOCATING ? null : script.reloc().toString(),
                    state == ServerState.ALLOCATING || script.loadable() == null ? null : script.loadable().toString(), // written by then
                    address, size, portInfo, image != null ? image.version() : "",
                    image != null ? image.depends() : List.of(), dependents.size(), wired, allFaults, why, regs, health, hooks);
        } finally {
            lock.unlock();
        }
    }

    @Override public void demandLoad(Port port) {
        loader.demandLoad(this, port);
    }

    @Override public String serverName() { return name; }

    // ---- helpers ----

    /** {@code body}'s answer, read or made under the lock. */
    private <T> T locked(java.util.function.Supplier<T> body) {
        lock.lock();
        try {
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    // The rest run with the lock held.


    /** Hands back the ports and the address range; the record holds neither afterwards. */
    private Released release() {
        Released r = new Released(ports, address);
        ports = List.of();
        linked = null;
        address = 0;
        size = 0;
        return r;
    }

    private void requireState(ServerState expected) {
        if (state != expected) throw new IllegalStateException(name + ": " + state.word() + ", expected " + expected.word());
    }

    private LoaderException inUse() {
        return new LoaderException(LoaderError.WONT_UNLOAD, name + ": in use by " + String.join(", ", dependents));
    }

    /** Waits (lock held) until the state is not transient; 109 after {@link #STABLE_WAIT_MILLIS}. */
    private void awaitStable() throws LoaderException {
        long left = TimeUnit.MILLISECONDS.toNanos(STABLE_WAIT_MILLIS);
        try {
            while (state.transient_()) {
                if (left <= 0)
                    throw new LoaderException(LoaderError.SERVER_WONT_LOAD, name + ": still " + state.word() + " after " + STABLE_WAIT_MILLIS + " ms");
                left = changed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoaderException(LoaderError.SERVER_WONT_LOAD, name + ": interrupted while waiting");
        }
    }
}
