package org.kextnet.kernel.socket;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kpi.Errno;

/**
 * The receive buffer of a datagram socket ({@code so_rcv} with {@code sbappendaddr}): a bounded ring of
 * datagrams, each a payload-only packet with its sender beside it. It shares the socket's lock. Blocking takes
 * park, so virtual threads may wait.
 */
public final class DatagramQueue {
    /** A datagram taken from the queue: the caller owns {@code data}; {@code flags} holds {@link #MSG_BCAST} or {@link #MSG_MCAST}. */
    public record Datagram(Packet data, int fromAddr, int fromPort, int flags) {}

    /** The datagram came to a broadcast address (BSD's {@code MSG_BCAST} on a receive). */
    public static final int MSG_BCAST = 0x200;
    /** The datagram came to a multicast address (BSD's {@code MSG_MCAST}). */
    public static final int MSG_MCAST = 0x400;

    private final ReentrantLock lock;
    private final Condition readable;
    private Packet[] ring;
    /**
     * The sender of each datagram in {@link #ring}, at the same index: address in the high half, the
     * {@code MSG_} flags in bits 16..31, the port in the low 16.
     */
    private long[] senders;
    private int head, count;
    private boolean closed, eof;
    /** An asynchronous error for the next read that finds the queue empty (so_error), or 0. */
    private int error;

    public DatagramQueue(ReentrantLock lock, int limit) {
        this.lock = lock;
        this.readable = lock.newCondition();
        this.ring = new Packet[limit];
        this.senders = new long[limit];
    }

    /**
     * Appends a datagram from {@code fromAddr}:{@code fromPort} and wakes a reader. Takes ownership only when
     * it returns true; false means the queue is full, closed, or cannot receive more.
     */
    public boolean offer(Packet m, int fromAddr, int fromPort) { return offer(m, fromAddr, fromPort, 0); }

    /** {@link #offer(Packet, int, int)} with the receive flags ({@link #MSG_BCAST}, {@link #MSG_MCAST}) kept beside it. */
    public boolean offer(Packet m, int fromAddr, int fromPort, int flags) {
        lock.lock();
        try {
            if (closed || eof || count == ring.length) return false;
            int i = (head + count) % ring.length;
            ring[i] = m;
            senders[i] = (long) fromAddr << 32 | (long) (flags & 0xffff) << 16 | (fromPort & 0xffffL);
            count++;
            readable.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes the next datagram, waiting up to {@code nanos}. The caller owns it.
     * @return the datagram, or null if the time ran out or no more data will come ({@link #markEof})
     * @throws SocketError EBADF once the socket is closed
     */
    public Datagram take(long nanos) throws SocketError, InterruptedException {
        lock.lock();
        try {
            while (count == 0) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
                takeError();
                if (eof || nanos <= 0) return null;
                nanos = readable.awaitNanos(nanos);
            }
            return removeFirst();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes the next datagram if one waits, without waiting. The caller owns it.
     * @return the datagram, or null
     * @throws SocketError EBADF once the socket is closed
     */
    public Datagram poll() throws SocketError {
        lock.lock();
        try {
            if (count == 0) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
                takeError();
                return null;
            }
            return removeFirst();
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@link #poll()} without allocating: the datagram's payload is returned (the caller owns it), and its sender's
     * address, port and flags go to {@code from[0..2]}.
     * @return the payload, or null if none waits
     * @throws SocketError EBADF once the socket is closed
     */
    public Packet poll(int[] from) throws SocketError {
        lock.lock();
        try {
            if (count == 0) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
                takeError();
                return null;
            }
            Packet m = ring[head];
            long f = senders[head];
            ring[head] = null;
            head = (head + 1) % ring.length;
            count--;
            from[0] = (int) (f >>> 32);
            from[1] = (int) f & 0xffff;
            from[2] = (int) (f >>> 16) & 0xffff;
            return m;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records an asynchronous error (an ICMP error about what the socket sent, as Linux's {@code sk_err}): the next
     * read that finds no datagram fails with it once; a reader waiting now wakes to it.
     */
    public void setError(int errno) {
        lock.lock();
        try {
            error = errno;
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void takeError() throws SocketError {
        int e = error;
        if (e == 0) return;
        error = 0;
        throw new SocketError(e, "an ICMP error reported it");
    }

    /** Takes the pending asynchronous error for a send (Linux fails the next send with it too), or 0. */
    public int takePendingError() {
        lock.lock();
        try {
            int e = error;
            error = 0;
            return e;
        } finally {
            lock.unlock();
        }
    }

    /** Datagrams waiting. */
    public int size() {
        lock.lock();
        try {
            return count;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of the next datagram, or 0 ({@code FIONREAD}). */
    public int nextLength() {
        lock.lock();
        try {
            return count == 0 ? 0 : ring[head].packetLength();
        } finally {
            lock.unlock();
        }
    }

    /** Sets how many datagrams may wait; the newest beyond the new limit are freed. */
    public void setLimit(int limit) {
        if (limit < 1) throw new IllegalArgumentException("queue limit " + limit);
        lock.lock();
        try {
            Packet[] n = new Packet[limit];
            long[] from = new long[limit];
            int keep = Math.min(count, limit);
            for (int i = 0; i < count; i++) {
                int at = (head + i) % ring.length;
                Packet m = ring[at];
                if (i < keep) {
                    n[i] = m;
                    from[i] = senders[at];
                } else {
                    m.free();
                }
            }
            ring = n;
            senders = from;
            head = 0;
            count = keep;
        } finally {
            lock.unlock();
        }
    }

    public int limit() {
        lock.lock();
        try {
            return ring.length;
        } finally {
            lock.unlock();
        }
    }

    /** Frees every waiting datagram ({@code sorflush}). */
    public void flush() {
        lock.lock();
        try {
            while (count > 0) removeFirst().data().free();
        } finally {
            lock.unlock();
        }
    }

    /** No more data will be appended ({@code socantrcvmore}); readers get what waits, then null at once. */
    public void markEof() {
        lock.lock();
        try {
            eof = true;
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Frees what waits and wakes every reader, which then fails with EBADF. */
    public void close() {
        lock.lock();
        try {
            closed = true;
            while (count > 0) removeFirst().data().free();
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private Datagram removeFirst() {
        long from = senders[head];
        Packet m = ring[head];
        ring[head] = null;
        head = (head + 1) % ring.length;
        count--;
        return new Datagram(m, (int) (from >>> 32), (int) from & 0xffff, (int) (from >>> 16) & 0xffff);
    }

    /**
     * Copies as much of the datagram {@code m} (over its whole chain) as fits into {@code dst}; the rest is
     * discarded, as recv without MSG_TRUNC. Does not free {@code m}.
     * @return the bytes copied
     */
    public static int copyOut(Packet m, ByteBuffer dst) {
        MemorySegment out = MemorySegment.ofBuffer(dst);
        int copied = 0;
        for (Packet b = m; b != null && copied < out.byteSize(); b = b.next()) {
            int n = (int) Math.min(b.length(), out.byteSize() - copied);
            MemorySegment.copy(b.segment(), b.offset(), out, copied, n);
            copied += n;
        }
        dst.position(dst.position() + copied);
        return copied;
    }
}
