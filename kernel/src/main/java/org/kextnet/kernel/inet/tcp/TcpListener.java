package org.kextnet.kernel.inet.tcp;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A passive open (RFC 9293 LISTEN): a local address and port, a backlog, the options its connections start
 * with, and two queues: half-open connections (SYN-RECEIVED, at most {@code backlog}; beyond that SYN cookies
 * answer) and established connections waiting for {@link #accept} (at most {@code backlog}; beyond that new
 * SYNs are dropped, as Linux does).
 *
 * <p>Thread-safe. Its lock guards the queues only and is never held while calling out; a connection's lock
 * may be held while taking it, never the reverse.
 */
public final class TcpListener {
    private final TcpStack stack;
    final long localHigh, localLow;
    final int localPort;
    private final int backlog;
    private final TcpSocketOptions template;
    final TcpListenUpcall upcall;
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<TcpConnection> acceptQueue = new ArrayDeque<>();
    private final Set<TcpConnection> halfOpen = new HashSet<>();
    private volatile boolean closed;
    /** When this listener last answered with a SYN cookie: cookie ACKs are only looked at for a while after. */
    volatile long lastCookie = Long.MIN_VALUE / 2;

    TcpListener(TcpStack stack, long localHigh, long localLow, int localPort, int backlog, TcpSocketOptions template,
                TcpListenUpcall upcall) {
        this.stack = stack;
        this.localHigh = localHigh;
        this.localLow = localLow;
        this.localPort = localPort;
        this.backlog = Math.max(1, backlog);
        this.template = template;
        this.upcall = upcall;
    }

    public TcpEndpoint local() { return new TcpEndpoint(localHigh, localLow, localPort); }
    public int backlog() { return backlog; }
    public boolean isClosed() { return closed; }
    /** The options new connections start with (a copy each, of the listening socket's options as they are now). */
    TcpSocketOptions template() { return template.copy(); }

    /** The next established connection, or null if none waits (non-blocking; the upcall says when one does). */
    public TcpConnection accept() {
        TcpConnection c;
        lock.lock();
        try {
            c = acceptQueue.poll();
        } finally {
            lock.unlock();
        }
        if (c != null) c.markAccepted();
        return c;
    }

    /** Connections waiting for {@link #accept}. */
    public int pending() {
        lock.lock();
        try {
            return acceptQueue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Half-open connections (SYN-RECEIVED). */
    public int halfOpen() {
        lock.lock();
        try {
            return halfOpen.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops listening: no new connection is made; the connections not yet accepted (half-open or waiting)
     * are reset. Idempotent.
     */
    public void close() {
        List<TcpConnection> drop = new ArrayList<>();
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            drop.addAll(acceptQueue);
            drop.addAll(halfOpen);
            acceptQueue.clear();
            halfOpen.clear();
        } finally {
            lock.unlock();
        }
        stack.removeListener(this);
        for (TcpConnection c : drop) c.abortFromListener();
        upcall.acceptable(this);
    }

    boolean acceptQueueFull() {
        lock.lock();
        try {
            return acceptQueue.size() >= backlog;
        } finally {
            lock.unlock();
        }
    }

    boolean halfOpenFull() {
        lock.lock();
        try {
            return halfOpen.size() >= backlog;
        } finally {
            lock.unlock();
        }
    }

    boolean hasRoom() {
        lock.lock();
        try {
            return !closed && acceptQueue.size() < backlog;
        } finally {
            lock.unlock();
        }
    }

    boolean addHalfOpen(TcpConnection c) {
        lock.lock();
        try {
            if (closed || halfOpen.size() >= backlog) return false;
            halfOpen.add(c);
            return true;
        } finally {
            lock.unlock();
        }
    }

    void halfOpenGone(TcpConnection c) {
        lock.lock();
        try {
            halfOpen.remove(c);
        } finally {
            lock.unlock();
        }
    }

    /** A connection completed its handshake; false if the listener closed meanwhile. */
    boolean established(TcpConnection c) {
        lock.lock();
        try {
            halfOpen.remove(c);
            if (closed) return false;
            acceptQueue.add(c);
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override public String toString() {
        return "tcp listen " + local() + " backlog " + backlog;
    }
}
