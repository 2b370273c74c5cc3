package org.kextnet.kernel.socket;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntSupplier;

/**
 * Readiness for many sockets at once (a selector, as {@code java.nio.channels.Selector} and {@code poll}): sockets
 * are registered with the operations of interest, and {@link #select} waits until one of them is ready, or the
 * time is up, and says which. Level-triggered: a key is ready for as long as its socket is. A socket tells its
 * selectors when its state changes ({@link Source#changed}); a select then asks each registered socket what it is
 * ready for, so the cost of a wake-up is one question per registered socket. Parks, so virtual threads may select.
 *
 * <p>Operations have java.nio's values, so that a {@code SelectorProvider} can sit on this class unchanged.
 */
public final class Readiness {
    public static final int OP_READ = 1, OP_WRITE = 4, OP_CONNECT = 8, OP_ACCEPT = 16;

    /** One socket's side: what it is ready for now, and the selectors to tell when that may have changed. */
    public static final class Source {
        private final IntSupplier readyOps;
        private final List<Readiness> selectors = new CopyOnWriteArrayList<>();

        public Source(IntSupplier readyOps) { this.readyOps = readyOps; }

        /** The operations the socket is ready for now. */
        public int readyOps() { return readyOps.getAsInt(); }

        /** The socket's state changed: every selector it is registered with looks again. */
        public void changed() {
            // Sockets call this once per few segments, mostly with no selector: no iterator then (nothing allocated).
            if (selectors.isEmpty()) return;
            for (Readiness r : selectors) r.wakeup();
        }
    }

    /** A registration: a socket, the operations of interest, and what the caller attached. */
    public static final class Key {
        private final Readiness owner;
        private final Source source;
        private volatile int interest;
        private final Object attachment;
        private volatile int ready;
        private volatile boolean cancelled;

        private Key(Readiness owner, Source source, int interest, Object attachment) {
            this.owner = owner;
            this.source = source;
            this.interest = interest;
            this.attachment = attachment;
        }

        public Object attachment() { return attachment; }
        public int interestOps() { return interest; }
        /** Changes the operations of interest; the selector looks again. */
        public void interestOps(int ops) {
            interest = ops;
            owner.wakeup();
        }
        /** The operations found ready by the last select that reported this key. */
        public int readyOps() { return ready; }
        public boolean isReadable() { return (ready & OP_READ) != 0; }
        public boolean isWritable() { return (ready & OP_WRITE) != 0; }
        public boolean isAcceptable() { return (ready & OP_ACCEPT) != 0; }
        public boolean isConnectable() { return (ready & OP_CONNECT) != 0; }

        /** Removes the registration. */
        public void cancel() {
            cancelled = true;
            source.selectors.remove(owner);
            owner.keys.remove(this);
        }
    }

    private final List<Key> keys = new CopyOnWriteArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition woken = lock.newCondition();
    private boolean signalled;

    /** Registers {@code source} for {@code ops} with {@code attachment}. */
    public Key register(Source source, int ops, Object attachment) {
        Key k = new Key(this, source, ops, attachment);
        keys.add(k);
        if (!source.selectors.contains(this)) source.selectors.add(this);
        wakeup();
        return k;
    }

    /** The keys registered. */
    public List<Key> keys() { return List.copyOf(keys); }

    /** Makes a waiting (or the next) select look again. */
    public void wakeup() {
        lock.lock();
        try {
            signalled = true;
            woken.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until a registered socket is ready for an operation of interest, or {@code timeout} passes (0: do not
     * wait), and returns the keys that are ready, each with its {@link Key#readyOps()}.
     */
    public List<Key> select(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (true) {
            lock.lock();
            try {
                signalled = false; // changes from here on wake the wait below
            } finally {
                lock.unlock();
            }
            List<Key> ready = new ArrayList<>();
            for (Key k : keys) {
                if (k.cancelled) continue;
                int ops = k.source.readyOps() & k.interest;
                k.ready = ops;
                if (ops != 0) ready.add(k);
            }
            if (!ready.isEmpty()) return ready;
            lock.lock();
            try {
                while (!signalled) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) return ready;
                    woken.awaitNanos(left);
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
