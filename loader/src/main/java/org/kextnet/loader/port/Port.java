package org.kextnet.loader.port;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/**
 * A server's port (a receive right that kern_loader holds while the server is not loaded).
 *
 * <p>Modes: while <b>held</b> the loader receives: the first message starts a demand load and every message
 * is queued. While <b>queuing</b> (loading, unloading, draining the queue) messages are queued. While
 * <b>serving</b> a message goes straight to the server's routine on the sender's thread. A <b>dead</b> port
 * (server deleted or faulted) fails every message with 123. The switch from draining to serving happens
 * under the port's lock when the queue is empty, so each sender's messages are handled in the order sent,
 * none lost. What a port queues is bounded ({@link #MAX_QUEUED} messages, {@link #MAX_QUEUED_BYTES} bytes): a message
 * beyond it fails at once with 112, the others stay queued.
 */
public final class Port {
    /** The port's mode; see the class comment. */
    public enum Mode { HELD, QUEUING, SERVING, DEAD }

    /** Most messages, and bytes of their bodies, a port queues while its server is not serving. */
    public static final int MAX_QUEUED = 4096, MAX_QUEUED_BYTES = 16 << 20;

    private final long id;
    private final String name;
    private final boolean advertised;
    private final PortOwner owner;
    private final ArrayDeque<Message> queue = new ArrayDeque<>();
    private Mode mode = Mode.HELD;
    private Dispatcher dispatcher;
    private boolean loadRequested, draining, stopRequested;
    private int inflight;
    private long delivered, queuedBytes;

    Port(long id, String name, boolean advertised, PortOwner owner) {
        this.id = id;
        this.name = name;
        this.advertised = advertised;
        this.owner = owner;
    }

    public long id() { return id; }
    public String name() { return name; }
    public boolean advertised() { return advertised; }
    public PortOwner owner() { return owner; }

    public synchronized Mode mode() { return mode; }
    public synchronized int queued() { return queue.size(); }
    public synchronized long delivered() { return delivered; }

    /**
     * Sends a message to the port. Never blocks on the server's load.
     * @return null if the message was queued or delivered; else why not (the port is dead, 123, or its queue full,
     *         112), which the message's sender has also been told
     */
    public LoaderException send(Message m) {
        Dispatcher d;
        boolean demand = false;
        String refused = null;
        LoaderError error = null;
        synchronized (this) {
            switch (mode) {
                case DEAD -> {
                    error = LoaderError.UNKNOWN_PORT;
                    refused = "port " + name + " is dead";
                    d = null;
                }
                case SERVING -> {
                    inflight++;
                    delivered++;
                    d = dispatcher;
                }
                default -> {
                    d = null;
                    if (queue.size() >= MAX_QUEUED || queuedBytes + m.size() > MAX_QUEUED_BYTES) {
                        error = LoaderError.MEM_ALLOC_PROBLEM;
                        refused = "port " + name + " has " + queue.size() + " messages (" + queuedBytes
                                + " bytes) queued while its server is not serving; try again later";
                    } else {
                        queue.add(m);
                        queuedBytes += m.size();
                        if (mode == Mode.HELD && !loadRequested) {
                            loadRequested = true;
                            demand = true;
                        }
                    }
                }
            }
        }
        if (refused != null) { // the sender hears of it outside the port's lock
            m.fail(error, refused);
            return new LoaderException(error, refused);
        }
        if (d == null) {
            if (demand) owner.demandLoad(this);
            return null;
        }
        try {
            d.dispatch(m);
        } finally {
            synchronized (this) {
                if (--inflight == 0) notifyAll();
            }
        }
        return null;
    }

    /** Loading has begun: keep queueing. */
    public synchronized void loading() {
        if (mode == Mode.HELD) mode = Mode.QUEUING;
        stopRequested = false;
    }

    /**
     * The server is loaded: drains the queue in order on the calling thread through {@code d}, then serves
     * directly.
     */
    public void serve(Dispatcher d) {
        synchronized (this) {
            if (mode == Mode.DEAD) return;
            mode = Mode.QUEUING;
            dispatcher = d;
            draining = true;
        }
        try {
            while (true) {
                Message m;
                synchronized (this) {
                    if (stopRequested) return; // an unload began: the rest stays queued for the next load
                    m = queue.poll();
                    if (m != null) queuedBytes -= m.size();
                    if (m == null) {
                        mode = Mode.SERVING;
                        loadRequested = false;
                        return;
                    }
                    delivered++;
                }
                d.dispatch(m);
            }
        } finally {
            synchronized (this) {
                draining = false;
                notifyAll();
            }
        }
    }

    /**
     * Unloading: stop serving and wait until every call already inside the routine has returned.
     * @return false if calls were still inside after {@code timeoutMillis}
     */
    public boolean quiesce(long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (this) {
            if (mode == Mode.SERVING) mode = Mode.QUEUING;
            stopRequested = true;
            while (inflight > 0 || draining) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        }
    }

    /**
     * The server is unloaded (or its load failed and it may be tried again): back to held. Drops the
     * dispatcher.
     * @return whether messages are queued (the caller then loads again)
     */
    public synchronized boolean hold() {
        if (mode == Mode.DEAD) return false;
        mode = Mode.HELD;
        dispatcher = null;
        stopRequested = false;
        loadRequested = !queue.isEmpty();
        return loadRequested;
    }

    /** The port dies: every queued message fails with {@code error}. */
    public void kill(LoaderError error, String detail) {
        ArrayDeque<Message> failed;
        synchronized (this) {
            mode = Mode.DEAD;
            dispatcher = null;
            failed = new ArrayDeque<>(queue);
            queue.clear();
            queuedBytes = 0;
            notifyAll();
        }
        for (Message m : failed) m.fail(error, detail);
    }

    @Override public String toString() { return name + (advertised ? "(advertised)" : ""); }
}
