package org.kextnet.kernel.socket;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kpi.Errno;

/**
 * The receive buffer of a datagram socket ({@code so_rcv} with {@code sbappendaddr}): a bounded ring of
 * datagrams, each a payload-only packet with its sender's address in {@link Packet#scratch0} and port in
 * {@link Packet#scratch1}. It shares the socket's lock. Blocking takes park, so virtual threads may wait.
 */
public final class DatagramQueue {
    private final ReentrantLock lock;
    private final Condition readable;
    private Packet[] ring;
    private int head, count;
    private boolean closed, eof;

    public DatagramQueue(ReentrantLock lock, int limit) {
        this.lock = lock;
        this.readable = lock.newCondition();
        this.ring = new Packet[limit];
    }

    /**
     * Appends a datagram from {@code fromAddr}:{@code fromPort} and wakes a reader. Takes ownership only when
     * it returns true; false means the queue is full, closed, or cannot receive more.
     */
    public boolean offer(Packet m, int fromAddr, int fromPort) {
        lock.lock();
        try {
            if (closed || eof || count == ring.length) return false;
            m.scratch0 = fromAddr;
            m.scratch1 = fromPort;
            ring[(head + count) % ring.length] = m;
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
    public Packet take(long nanos) throws SocketError, InterruptedException {
        lock.lock();
        try {
            while (count == 0) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
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
    public Packet poll() throws SocketError {
        lock.lock();
        try {
            if (count == 0) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
                return null;
            }
            return removeFirst();
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
            int keep = Math.min(count, limit);
            for (int i = 0; i < count; i++) {
                Packet m = ring[(head + i) % ring.length];
                if (i < keep) n[i] = m; else m.free();
            }
            ring = n;
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
            while (count > 0) removeFirst().free();
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
            while (count > 0) removeFirst().free();
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private Packet removeFirst() {
        Packet m = ring[head];
        ring[head] = null;
        head = (head + 1) % ring.length;
        count--;
        return m;
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
