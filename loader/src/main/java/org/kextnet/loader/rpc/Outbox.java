package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayDeque;

/**
 * The writing side of one connection: frames are queued and written whole, in order, by one drainer at a time, so
 * frames from different threads never interleave. The connection's own threads (its reader and its requests'
 * threads) drain inline; any other thread (a log line, a server's reply or message) only queues and, if nothing is
 * draining, starts a virtual thread to drain: a client that does not read never blocks the loader or a server.
 * Responses are bounded by the connection's budget of outstanding requests; events are bounded here, in bytes, and a
 * client too slow for them is closed.
 */
final class Outbox {
    /** Most bytes of events queued for one client; beyond it the client is closed as too slow. */
    static final int MAX_QUEUED_EVENTS = 256 * 1024;

    /** The connection's side: who may drain inline, and what to do when the client cannot take its frames. */
    interface Owner {
        boolean isOwnThread();
        void writing(boolean started);
        void failed(RpcServer.Closed cause);
    }

    private record Frame(ByteBuffer bytes, boolean event) {}

    private final WritableByteChannel ch;
    private final Owner owner;
    private final ArrayDeque<Frame> queue = new ArrayDeque<>();
    private long queuedEvents;
    private boolean draining, closed;

    Outbox(WritableByteChannel ch, Owner owner) {
        this.ch = ch;
        this.owner = owner;
    }

    /** Queues a response (or the greeting) and writes it, inline on the connection's own threads. */
    void send(ByteBuffer frame) {
        enqueue(new Frame(frame, false));
    }

    /** Queues an event; a client with more than {@link #MAX_QUEUED_EVENTS} bytes of them waiting is closed. */
    void event(ByteBuffer frame) {
        enqueue(new Frame(frame, true));
    }

    private void enqueue(Frame f) {
        boolean overflow = false, start = false;
        synchronized (this) {
            if (closed) return;
            if (f.event() && queuedEvents + f.bytes().remaining() > MAX_QUEUED_EVENTS) {
                closed = overflow = true;
                queue.clear();
            } else {
                if (f.event()) queuedEvents += f.bytes().remaining();
                queue.add(f);
                if (!draining) draining = start = true; // else the drainer takes it
            }
        }
        if (overflow) owner.failed(RpcServer.Closed.OVERFLOW);
        else if (start && owner.isOwnThread()) drain();
        else if (start) Thread.ofVirtual().name("kern_loader-write").start(this::drain);
    }

    private void drain() {
        while (true) {
            Frame f;
            synchronized (this) {
                f = closed ? null : queue.poll();
                if (f == null) {
                    draining = false;
                    notifyAll(); // for flush
                    return;
                }
            }
            ByteBuffer b = f.bytes();
            int n = b.remaining();
            owner.writing(true);
            try {
                while (b.hasRemaining()) ch.write(b);
            } catch (IOException e) {
                synchronized (this) {
                    closed = true;
                    draining = false;
                    queue.clear();
                    notifyAll();
                }
                owner.failed(RpcServer.Closed.CLIENT);
                return;
            } finally {
                owner.writing(false);
            }
            if (f.event()) {
                synchronized (this) {
                    queuedEvents -= n;
                }
            }
        }
    }

    /**
     * Waits until what is queued has been written (by another thread's drain; the write deadline bounds the wait),
     * so that a last frame, an error before the connection closes, is not dropped.
     */
    synchronized void flush() {
        flush(Long.MAX_VALUE);
    }

    /** As {@link #flush()}, for at most {@code millis}. */
    synchronized void flush(long millis) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(Math.min(millis, 1L << 40));
        while (draining && !closed) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return;
            try {
                java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** No more frames: what is queued is dropped. */
    synchronized void close() {
        closed = true;
        queue.clear();
        notifyAll();
    }
}
