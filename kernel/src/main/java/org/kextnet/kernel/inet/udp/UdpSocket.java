package org.kextnet.kernel.inet.udp;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Udp;
import org.kextnet.kpi.Errno;

/**
 * A UDP socket for code in the JVM: bind, connect, send, receive (blocking with a timeout, or not at all).
 * Received datagrams wait in a bounded queue; when it is full, new ones are dropped and counted.
 * Blocking calls park, so virtual threads may use them freely. Thread-safe.
 */
public final class UdpSocket implements AutoCloseable {
    /** Datagrams a socket queues before it drops (about SO_RCVBUF). */
    public static final int DEFAULT_QUEUE_LIMIT = 256;

    private final Kernel kernel;
    private final UdpLayer udp;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private volatile int localAddress;
    private volatile int localPort;           // 0 while unbound
    private volatile int remoteAddress;
    private volatile int remotePort;          // 0 while unconnected
    private volatile UdpUpcall upcall;
    private volatile boolean closed;
    private Mbuf[] queue = new Mbuf[DEFAULT_QUEUE_LIMIT];
    private int head, count;

    UdpSocket(Kernel kernel, UdpLayer udp) {
        this.kernel = kernel;
        this.udp = udp;
    }

    /** Binds to {@code address} (0 for all of this host's addresses) and {@code port} (0 for an ephemeral one). */
    public UdpSocket bind(int address, int port) throws SocketError {
        lock.lock();
        try {
            if (closed) throw new SocketError(Errno.EBADF, "socket closed");
            if (localPort != 0) throw new SocketError(Errno.EINVAL, "already bound to port " + localPort);
            if (address != 0 && !kernel.isLocalAddress(address)) throw new SocketError(Errno.EADDRNOTAVAIL, Ipv4.format(address) + " is not an address of this host");
            int p = udp.bind(this, port);
            if (p < 0) throw new SocketError(-p, "bind to port " + port);
            localAddress = address;
            localPort = p;
            return this;
        } finally {
            lock.unlock();
        }
    }

    /** Sets the default destination and accepts datagrams only from it; binds an ephemeral port if unbound. */
    public UdpSocket connect(int address, int port) throws SocketError {
        if (port <= 0 || port > 65535) throw new SocketError(Errno.EINVAL, "port " + port);
        if (localPort == 0) bind(0, 0);
        remoteAddress = address;
        remotePort = port;
        return this;
    }

    /** Installs an upcall that gets each datagram on the input thread instead of the queue (kernel services). */
    public void setUpcall(UdpUpcall upcall) { this.upcall = upcall; }

    /** Sets how many datagrams may wait; excess ones are dropped. */
    public void setQueueLimit(int limit) {
        if (limit < 1) throw new IllegalArgumentException("queue limit " + limit);
        lock.lock();
        try {
            Mbuf[] n = new Mbuf[limit];
            int keep = Math.min(count, limit);
            for (int i = 0; i < count; i++) {
                Mbuf m = queue[(head + i) % queue.length];
                if (i < keep) n[i] = m; else m.free();
            }
            queue = n;
            head = 0;
            count = keep;
        } finally {
            lock.unlock();
        }
    }

    public int localAddress() { return localAddress; }
    public int localPort() { return localPort; }
    public int remoteAddress() { return remoteAddress; }
    public int remotePort() { return remotePort; }
    public boolean isClosed() { return closed; }

    boolean accepts(int dst, int src, int srcPort) {
        if (localAddress != 0 && localAddress != dst) return false;
        return remotePort == 0 || (remoteAddress == src && remotePort == srcPort);
    }

    /** Queues (or up-calls) a datagram; {@code m} starts at the IP header. Takes ownership. */
    void deliver(PacketContext ctx, Mbuf m, int hl) {
        UdpUpcall u = upcall;
        if (u != null) {
            ctx.stats().inc(Stat.UDP_DELIVERED);
            u.datagram(ctx, this, m, hl);
            return;
        }
        m.scratch0 = hl;
        lock.lock();
        try {
            if (closed || count == queue.length) {
                ctx.stats().inc(Stat.UDP_FULL_SOCKET);
                m.free();
                return;
            }
            queue[(head + count) % queue.length] = m;
            count++;
            readable.signal();
        } finally {
            lock.unlock();
        }
        ctx.stats().inc(Stat.UDP_DELIVERED);
    }

    /**
     * Receives one datagram into {@code dst}, waiting up to {@code timeout}. A datagram larger than the
     * space left is truncated (the rest is discarded, as recv without MSG_TRUNC).
     *
     * @return the sender and length, or null if the time ran out
     * @throws SocketError EBADF if the socket is closed
     */
    public UdpDatagram receive(ByteBuffer dst, long timeout, TimeUnit unit) throws SocketError, InterruptedException {
        long nanos = unit.toNanos(timeout);
        Mbuf m;
        lock.lock();
        try {
            while (count == 0) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
                if (nanos <= 0) return null;
                nanos = readable.awaitNanos(nanos);
            }
            m = take();
        } finally {
            lock.unlock();
        }
        return copyOut(m, dst);
    }

    /** Receives a datagram if one is waiting, else returns null at once. */
    public UdpDatagram tryReceive(ByteBuffer dst) throws SocketError {
        Mbuf m;
        lock.lock();
        try {
            if (count == 0) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
                return null;
            }
            m = take();
        } finally {
            lock.unlock();
        }
        return copyOut(m, dst);
    }

    /** Datagrams waiting. */
    public int available() {
        lock.lock();
        try {
            return count;
        } finally {
            lock.unlock();
        }
    }

    private Mbuf take() {
        Mbuf m = queue[head];
        queue[head] = null;
        head = (head + 1) % queue.length;
        count--;
        return m;
    }

    private static UdpDatagram copyOut(Mbuf m, ByteBuffer dst) {
        try {
            MemorySegment s = m.segment();
            int ip = m.offset();
            int hl = m.scratch0;
            int payload = m.length() - hl - Udp.HEADER_LEN;
            int n = Math.min(payload, dst.remaining());
            MemorySegment.copy(s, ip + hl + Udp.HEADER_LEN, MemorySegment.ofBuffer(dst), 0, n);
            dst.position(dst.position() + n);
            return new UdpDatagram(Ipv4.src(s, ip), Udp.srcPort(s, ip + hl), n, n < payload);
        } finally {
            m.free();
        }
    }

    /** Sends to the connected destination. */
    public int send(ByteBuffer data) throws SocketError {
        if (remotePort == 0) throw new SocketError(Errno.EDESTADDRREQ, "not connected");
        return send(data, remoteAddress, remotePort);
    }

    /**
     * Sends the remaining bytes of {@code data} as one datagram; binds an ephemeral port first if unbound.
     * Datagrams larger than the MTU are fragmented.
     *
     * @return the bytes sent
     * @throws SocketError EMSGSIZE (over 65507 bytes), ENETUNREACH (no route), ENOBUFS (no buffers)
     */
    public int send(ByteBuffer data, int address, int port) throws SocketError {
        if (closed) throw new SocketError(Errno.EBADF, "socket closed");
        if (port <= 0 || port > 65535) throw new SocketError(Errno.EINVAL, "port " + port);
        int len = data.remaining();
        if (len > Ipv4.MAX_PACKET - Ipv4.MIN_HEADER - Udp.HEADER_LEN) throw new SocketError(Errno.EMSGSIZE, len + " bytes");
        if (localPort == 0) bind(0, 0);
        PacketContext ctx = kernel.context();
        Mbuf m = kernel.buffers().alloc(Ipv4.MIN_HEADER + Udp.HEADER_LEN + len);
        if (m == null) {
            ctx.stats().inc(Stat.UDP_OUT_NO_BUFFERS);
            throw new SocketError(Errno.ENOBUFS, "no packet buffers");
        }
        m.setLength(Udp.HEADER_LEN + len);
        MemorySegment s = m.segment();
        int o = m.offset();
        MemorySegment.copy(MemorySegment.ofBuffer(data), 0, s, o + Udp.HEADER_LEN, len);
        data.position(data.position() + len);
        int src = localAddress != 0 ? localAddress : kernel.sourceAddressFor(address);
        Udp.write(s, o, localPort, port, Udp.HEADER_LEN + len);
        Udp.fillChecksum(s, o, Udp.HEADER_LEN + len, src, address);
        ctx.stats().inc(Stat.UDP_OUT);
        int err = kernel.ipOutput().output(ctx, m, src, address, Ipv4.PROTO_UDP, Ipv4.DEFAULT_TTL, 0, false);
        if (err != 0) throw new SocketError(err, "send to " + Ipv4.format(address) + ":" + port);
        return len;
    }

    /** Closes the socket: frees its port and queued datagrams, and wakes blocked receivers. */
    @Override public void close() {
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            while (count > 0) take().free();
            readable.signalAll();
        } finally {
            lock.unlock();
        }
        if (localPort != 0) udp.unbind(this, localPort);
    }

    @Override public String toString() {
        return "udp " + (localAddress == 0 ? "*" : Ipv4.format(localAddress)) + ":" + (localPort == 0 ? "*" : localPort)
                + " " + (remotePort == 0 ? "*:*" : Ipv4.format(remoteAddress) + ":" + remotePort);
    }
}
