package org.kextnet.loader;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.loader.link.JarImage;
import org.kextnet.loader.link.LinkedServer;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.PortOwner;
import org.kextnet.loader.script.ServerScript;

/**
 * One server's record: its state and what it holds in each state. Fields are guarded by {@link #lock};
 * {@link #changed} is signalled on every state change. Work between states (linking, loading, unloading)
 * runs without the lock while the state is transient, which keeps other callers waiting.
 */
final class ServerRecord implements PortOwner {
    final ReentrantLock lock = new ReentrantLock();
    final Condition changed = lock.newCondition();
    final int index;
    final String name;
    final KernLoader loader;

    ServerScript script;
    ServerState state = ServerState.ALLOCATING;
    JarImage image;
    LinkedServer linked;
    List<Port> ports = List.of();
    long address, size;
    LoadedServer loaded;
    /** Loaded servers that depend on this one. */
    final List<String> dependents = new ArrayList<>();
    long faults;
    String fault;
    boolean pleaseDie;

    ServerRecord(KernLoader loader, int index, ServerScript script) {
        this.loader = loader;
        this.index = index;
        this.name = script.name();
        this.script = script;
    }

    void set(ServerState s) {
        state = s;
        changed.signalAll();
    }

    /** Waits (lock held) until the state is not transient; 109 after {@code millis}. */
    void awaitStable(long millis) throws LoaderException, InterruptedException {
        long left = TimeUnit.MILLISECONDS.toNanos(millis);
        while (state.transient_()) {
            if (left <= 0) throw new LoaderException(LoaderError.SERVER_WONT_LOAD, name + ": still " + state.word() + " after " + millis + " ms");
            left = changed.awaitNanos(left);
        }
    }

    @Override public void demandLoad(Port port) {
        loader.demandLoad(this, port);
    }

    @Override public String serverName() { return name; }

    /** Adds faults the kernel counted for the server (its callbacks' contained exceptions) at the end of a load. */
    void addFaults(long n) {
        if (n == 0) return;
        lock.lock();
        try {
            faults += n;
        } finally {
            lock.unlock();
        }
    }

    void fault(Throwable t) {
        lock.lock();
        try {
            faults++;
        } finally {
            lock.unlock();
        }
        loader.log().log(3, name + ": fault: " + t);
    }
}
