package org.kextnet.kernel.event;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kpi.event.EventFilter;
import org.kextnet.kpi.event.KernelEvent;

/**
 * A kernel event socket for code in the JVM ({@code socket(PF_SYSTEM, SOCK_RAW, SYSPROTO_EVENT)}): set a
 * filter ({@code SIOCSKEVFILT}), then receive the matching events in id order. Events wait in a receive
 * buffer of {@link #RECEIVE_BUFFER} bytes (header plus payload each); when it is full, new events are
 * dropped and counted. Thread-safe; {@link #receive} parks.
 */
public final class EventSocket implements AutoCloseable {
    /** The receive buffer size, in bytes, as xnu's event sockets. */
    public static final int RECEIVE_BUFFER = 8192;
    /** The header size counted per event ({@code KEV_MSG_HEADER_SIZE}). */
    public static final int HEADER_SIZE = 24;

    private final EventBus bus;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final ArrayDeque<KernelEvent> queue = new ArrayDeque<>();
    private int queuedBytes;
    private long dropped;
    private boolean closed;
    private volatile EventBus.Subscriber subscriber;

    EventSocket(EventBus bus) {
        this.bus = bus;
        setFilter(EventFilter.ANY);
    }

    /** Sets which events the socket receives ({@code SIOCSKEVFILT}); the default is every event. */
    public void setFilter(EventFilter filter) {
        EventBus.Subscriber s = new EventBus.Subscriber(filter) {
            @Override void deliver(CallSlot slot, KernelEvent e) { enqueue(e); }
        };
        EventBus.Subscriber old = subscriber;
        subscriber = s;
        bus.replace(old, s);
    }

    /** The current filter ({@code SIOCGKEVFILT}). */
    public EventFilter filter() { return subscriber.filter; }

    /** The id of the last event posted ({@code SIOCGKEVID}). */
    public long currentId() { return bus.currentId(); }

    /** {@code SIOCGKEVVENDOR}: the vendor code of a vendor string. */
    public int vendorCode(String vendor) { return bus.vendorCode(vendor); }

    private void enqueue(KernelEvent e) {
        int size = HEADER_SIZE + e.dataLength();
        lock.lock();
        try {
            if (closed) return;
            if (queuedBytes + size > RECEIVE_BUFFER) {
                dropped++;
                return;
            }
            queue.add(e);
            queuedBytes += size;
            readable.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The next event, waiting up to {@code timeout}; null if none came in time or the socket is closed.
     */
    public KernelEvent receive(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lock();
        try {
            while (queue.isEmpty()) {
                if (closed || nanos <= 0) return null;
                nanos = readable.awaitNanos(nanos);
            }
            KernelEvent e = queue.poll();
            queuedBytes -= HEADER_SIZE + e.dataLength();
            return e;
        } finally {
            lock.unlock();
        }
    }

    /** Events dropped because the receive buffer was full. */
    public long dropped() {
        lock.lock();
        try {
            return dropped;
        } finally {
            lock.unlock();
        }
    }

    @Override public void close() {
        EventBus.Subscriber s = subscriber;
        if (s != null) bus.remove(s);
        lock.lock();
        try {
            closed = true;
            queue.clear();
            queuedBytes = 0;
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override public String toString() {
        return "event socket " + filter();
    }
}
