package org.kextnet.kernel.domain;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.socket.FilteredSocket;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.socket.SocketFilterSet;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.domain.ProtocolSocket;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socketfilter.SocketEvent;

/**
 * A socket of a protocol an extension added: the application's calls go to the protocol's user requests
 * (after the socket filters), and what the protocol delivers waits in a bounded receive queue. Thread-safe;
 * {@link #receive} parks.
 */
public final class ProtocolSocketImpl implements ProtocolSocket, FilteredSocket, AutoCloseable {
    /** Datagrams queued before the protocol's deliveries fail with ENOBUFS. */
    public static final int QUEUE_LIMIT = 256;

    private final Kernel kernel;
    private final Domains.Entry entry;
    private final SocketFilterSet filters;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final ArrayDeque<Mbuf> queue = new ArrayDeque<>();
    private volatile Object pcb;
    private volatile SockAddr local, remote;
    private volatile boolean closed;

    ProtocolSocketImpl(Kernel kernel, Domains.Entry entry) {
        this.kernel = kernel;
        this.entry = entry;
        this.filters = new SocketFilterSet(kernel, this);
    }

    @Override public int family() { return entry.domain(); }
    @Override public int type() { return entry.pr.type(); }
    @Override public int protocol() { return entry.pr.protocol(); }
    @Override public SockAddr sockName() { SockAddr l = local; return l == null ? null : l.copy(); }
    @Override public SockAddr peerName() { SockAddr r = remote; return r == null ? null : r.copy(); }
    @Override public boolean isConnected() { return remote != null; }
    @Override public boolean isClosed() { return closed; }
    @Override public SocketFilterSet filters() { return filters; }
    @Override public Object pcb() { return pcb; }
    @Override public void setPcb(Object p) { pcb = p; }
    @Override public void setLocalAddress(SockAddr a) { local = a == null ? null : a.copy(); }
    @Override public void setRemoteAddress(SockAddr a) { remote = a == null ? null : a.copy(); }

    public void bind(SockAddr to) throws SocketError {
        check(filters.bind(to), "bind");
        int r;
        try {
            r = entry.pr.bind(this, to);
        } catch (Throwable t) {
            entry.fault("bind", t);
            r = Errno.EIO;
        }
        if (r != 0) throw new SocketError(r, "bind");
        filters.notify(SocketEvent.BOUND, 0);
    }

    public void connect(SockAddr to) throws SocketError {
        if (check(filters.connectOut(to), "connect")) return;
        int r;
        try {
            r = entry.pr.connect(this, to);
        } catch (Throwable t) {
            entry.fault("connect", t);
            r = Errno.EIO;
        }
        if (r != 0) throw new SocketError(r, "connect");
        filters.notify(SocketEvent.CONNECTED, 0);
    }

    /** True if a filter handled the call (EJUSTRETURN); throws for an error. */
    private static boolean check(int r, String what) throws SocketError {
        if (r == Errno.EJUSTRETURN) return true;
        if (r != 0) throw new SocketError(r, what + " refused by a socket filter");
        return false;
    }

    /** Sends the remaining bytes of {@code data} to {@code to} (null: the connected peer) through the protocol. */
    public int send(ByteBuffer data, SockAddr to) throws SocketError {
        if (closed) throw new SocketError(Errno.EBADF, "socket closed");
        int len = data.remaining();
        Mbuf m = kernel.buffers().alloc(len);
        if (m == null) throw new SocketError(Errno.ENOBUFS, "no packet buffers");
        m.setLength(len);
        MemorySegment.copy(MemorySegment.ofBuffer(data), 0, m.segment(), m.offset(), len);
        data.position(data.position() + len);
        int r = filters.dataOut(kernel.context(), to, m, null, 0, 0);
        if (r == Errno.EJUSTRETURN) return len;
        if (r != 0) throw new SocketError(r, "send refused by a socket filter");
        r = protocolSend(m, to);
        if (r != 0) throw new SocketError(r, "send");
        return len;
    }

    private int protocolSend(Mbuf m, SockAddr to) {
        PacketContext ctx = kernel.context();
        ctx.enter();
        try {
            return entry.pr.send(this, m, to, 0);
        } catch (Throwable t) {
            entry.fault("send", t);
            return Errno.EIO;
        } finally {
            ctx.exit();
        }
    }

    @Override public int deliver(SockAddr from, org.kextnet.kpi.mbuf.Mbuf data) {
        Mbuf m = (Mbuf) data;
        m.scratch0 = from == null ? 0 : from.ipv4();
        m.scratch1 = from == null ? 0 : from.port();
        int r = filters.dataIn(kernel.context(), from, m, null, 0, 0);
        if (r != 0) return 0; // a filter took or dropped it
        r = enqueue(m);
        if (r != 0) m.free();
        return r;
    }

    private int enqueue(Mbuf m) {
        lock.lock();
        try {
            if (closed) return Errno.EBADF;
            if (queue.size() >= QUEUE_LIMIT) return Errno.ENOBUFS;
            queue.add(m);
            readable.signal();
            return 0;
        } finally {
            lock.unlock();
        }
    }

    @Override public int injectIn(SockAddr from, Mbuf data, int resumeAfter) {
        data.scratch0 = from == null ? 0 : from.ipv4();
        data.scratch1 = from == null ? 0 : from.port();
        int r = filters.dataIn(kernel.context(), from, data, null, 0, resumeAfter);
        return r != 0 ? 0 : enqueue(data);
    }

    @Override public int injectOut(SockAddr to, Mbuf data, int resumeAfter) {
        int r = filters.dataOut(kernel.context(), to, data, null, 0, resumeAfter);
        if (r != 0) return r == Errno.EJUSTRETURN ? 0 : r;
        return protocolSend(data, to);
    }

    /**
     * Receives one datagram into {@code dst} (truncating), waiting up to {@code timeout}.
     * @return the sender, or null if none came in time
     */
    public SockAddr receive(ByteBuffer dst, long timeout, TimeUnit unit) throws SocketError, InterruptedException {
        long nanos = unit.toNanos(timeout);
        Mbuf m;
        lock.lock();
        try {
            while (queue.isEmpty()) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
                if (nanos <= 0) return null;
                nanos = readable.awaitNanos(nanos);
            }
            m = queue.poll();
        } finally {
            lock.unlock();
        }
        try {
            byte[] b = m.toByteArray();
            dst.put(b, 0, Math.min(b.length, dst.remaining()));
            return SockAddr.of(m.scratch0, m.scratch1);
        } finally {
            m.free();
        }
    }

    @Override public void close() {
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            while (!queue.isEmpty()) queue.poll().free();
            readable.signalAll();
        } finally {
            lock.unlock();
        }
        filters.notify(SocketEvent.CLOSING, 0);
        try {
            entry.pr.detach(this);
        } catch (Throwable t) {
            entry.fault("detach", t);
        }
        filters.close();
        entry.socketClosed();
    }

    @Override public String toString() { return "socket " + entry.name(); }
}
