package org.kextnet.loader.port;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A client's reply port. Servers that receive a message carrying it hold a send right to it; when the
 * client goes away the port dies and each such server that asked for PORT_DEATH is told.
 */
public final class ReplyPort {
    /** Receives unsolicited messages a server sends to this port ({@code KernServ.send}). */
    public interface Receiver {
        void receive(int id, byte[] data);
    }

    private final long id;
    private final Receiver receiver;
    private final Set<Consumer<Long>> deathWatchers = new LinkedHashSet<>();
    private boolean dead;

    ReplyPort(long id, Receiver receiver) {
        this.id = id;
        this.receiver = receiver;
    }

    public long id() { return id; }

    /** Sends an unsolicited message to the client; false if the port is dead. */
    public boolean send(int msgId, byte[] data) {
        synchronized (this) {
            if (dead) return false;
        }
        receiver.receive(msgId, data);
        return true;
    }

    /** Registers a PORT_DEATH callback (idempotent per watcher); false if already dead. */
    public synchronized boolean watch(Consumer<Long> watcher) {
        if (dead) return false;
        deathWatchers.add(watcher);
        return true;
    }

    /** Removes a watcher (its server unloaded: notification forwards are dropped). */
    public synchronized void unwatch(Consumer<Long> watcher) {
        deathWatchers.remove(watcher);
    }

    void die() {
        List<Consumer<Long>> watchers;
        synchronized (this) {
            if (dead) return;
            dead = true;
            watchers = new ArrayList<>(deathWatchers);
            deathWatchers.clear();
        }
        for (Consumer<Long> w : watchers) w.accept(id);
    }

    public synchronized boolean dead() { return dead; }
}
