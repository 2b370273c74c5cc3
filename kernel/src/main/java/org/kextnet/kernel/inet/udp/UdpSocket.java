package org.kextnet.kernel.inet.udp;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.socket.FilteredSocket;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.socket.SocketFilterSet;
import org.kextnet.kernel.socket.SocketOptions;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Udp;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketEvent;

/**
 * A UDP socket for code in the JVM: bind, connect, send, receive (blocking with a timeout, or not at all),
 * socket options, shutdown. Received datagrams wait in a bounded queue (their payload, the sender kept
 * aside); when it is full, new ones are dropped and counted. Blocking calls park, so virtual threads may
 * use them freely. Thread-safe.
 *
 * <p>Socket filters attach to it (global ones when it is opened, programmatic ones through
 * {@code SO_NKE}): bind, connect and the options ask them first; data they see in {@code dataIn} on the
 * receiving packet thread and in {@code dataOut} on the sending thread. No socket lock is held while a filter
 * runs. Sockets with an upcall (in-kernel services such as the echo service) get their datagrams whole and
 * unfiltered.
 */
public final class UdpSocket implements AutoCloseable, FilteredSocket {
    /** Datagrams a socket queues before it drops (about SO_RCVBUF). */
    public static final int DEFAULT_QUEUE_LIMIT = 256;

    private final Kernel kernel;
    private final UdpLayer udp;
    private final SocketFilterSet filters;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private volatile int localAddress;
    private volatile int localPort;           // 0 while unbound
    private volatile int remoteAddress;
    private volatile int remotePort;          // 0 while unconnected
    private volatile UdpUpcall upcall;
    private volatile boolean closed;
    private volatile boolean cantReceive, cantSend;
    private Mbuf[] queue = new Mbuf[DEFAULT_QUEUE_LIMIT];
    private int head, count;

    UdpSocket(Kernel kernel, UdpLayer udp) {
        this.kernel = kernel;
        this.udp = udp;
        this.filters = new SocketFilterSet(kernel, this);
    }

    // ---- the KPI's view ----
    @Override public int family() { return ProtocolFamily.PF_INET; }
    @Override public int type() { return SocketConstants.SOCK_DGRAM; }
    @Override public int protocol() { return SocketConstants.IPPROTO_UDP; }
    @Override public SocketFilterSet filters() { return filters; }
    @Override public SockAddr sockName() { return localPort == 0 ? null : SockAddr.of(localAddress, localPort); }
    @Override public SockAddr peerName() { return remotePort == 0 ? null : SockAddr.of(remoteAddress, remotePort); }
    @Override public boolean isConnected() { return remotePort != 0; }

    /**
     * Binds to {@code address} (0 for all of this host's addresses) and {@code port} (0 for an ephemeral one).
     * Socket filters' {@code bind} run first; a filter returning EJUSTRETURN makes the call succeed unbound.
     */
    public UdpSocket bind(int address, int port) throws SocketError {
        if (closed) throw new SocketError(Errno.EBADF, "socket closed");
        int f = filters.bind(SockAddr.of(address, port));
        if (f == Errno.EJUSTRETURN) return this;
        if (f != 0) throw new SocketError(f, "bind refused by a socket filter");
        bindInternal(address, port);
        filters.notify(SocketEvent.BOUND, 0);
        return this;
    }

    private void bindInternal(int address, int port) throws SocketError {
        lock.lock();
        try {
            if (closed) throw new SocketError(Errno.EBADF, "socket closed");
            if (localPort != 0) throw new SocketError(Errno.EINVAL, "already bound to port " + localPort);
            if (address != 0 && !kernel.isLocalAddress(address)) throw new SocketError(Errno.EADDRNOTAVAIL, Ipv4.format(address) + " is not an address of this host");
            int p = udp.bind(this, port);
            if (p < 0) throw new SocketError(-p, "bind to port " + port);
            localAddress = address;
            localPort = p;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Sets the default destination and accepts datagrams only from it; binds an ephemeral port if unbound.
     * Socket filters' {@code connectOut} run first.
     */
    public UdpSocket connect(int address, int port) throws SocketError {
        if (port <= 0 || port > 65535) throw new SocketError(Errno.EINVAL, "port " + port);
        int f = filters.connectOut(SockAddr.of(address, port));
        if (f == Errno.EJUSTRETURN) return this;
        if (f != 0) throw new SocketError(f, "connect refused by a socket filter");
        if (localPort == 0) bindInternal(0, 0);
        remoteAddress = address;
        remotePort = port;
        filters.notify(SocketEvent.CONNECTED, 0);
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
    @Override public boolean isClosed() { return closed; }

    boolean accepts(int dst, int src, int srcPort) {
        if (localAddress != 0 && localAddress != dst) return false;
        return remotePort == 0 || (remoteAddress == src && remotePort == srcPort);
    }

    /**
     * A datagram for this socket; {@code m} starts at the IP header, {@code hl} is its length. Runs the socket
     * filters' {@code dataIn} on the payload, then queues it (or up-calls the whole datagram). Takes ownership.
     */
    void deliver(PacketContext ctx, Mbuf m, int hl) {
        UdpUpcall u = upcall;
        if (u != null) {
            ctx.stats().inc(Stat.UDP_DELIVERED);
            u.datagram(ctx, this, m, hl);
            return;
        }
        MemorySegment s = m.segment();
        int ip = m.offset();
        int src = Ipv4.src(s, ip);
        int sport = Udp.srcPort(s, ip + hl);
        m.adj(hl + Udp.HEADER_LEN);
        m.scratch0 = src;
        m.scratch1 = sport;
        if (!filters.isEmpty()) {
            SockAddr.Inet4SockAddr from = ctx.sockAddr;
            from.setIpv4(src);
            from.setPort(sport);
            int r = filters.dataIn(ctx, from, m, null, 0, 0);
            if (r != 0) {
                ctx.stats().inc(r == Errno.EJUSTRETURN ? Stat.UDP_FILTER_TAKEN : Stat.UDP_FILTERED);
                return;
            }
        }
        if (enqueue(m) != 0) {
            ctx.stats().inc(Stat.UDP_FULL_SOCKET);
            m.free();
            return;
        }
        ctx.stats().inc(Stat.UDP_DELIVERED);
    }

    /** Queues a payload whose sender is in scratch0/scratch1; returns 0, EBADF or ENOBUFS (not freed). */
    private int enqueue(Mbuf m) {
        lock.lock();
        try {
            if (closed) return Errno.EBADF;
            if (cantReceive || count == queue.length) return Errno.ENOBUFS;
            queue[(head + count) % queue.length] = m;
            count++;
            readable.signal();
            return 0;
        } finally {
            lock.unlock();
        }
    }

    @Override public int injectIn(SockAddr from, Mbuf data, int resumeAfter) {
        if (closed) return Errno.EBADF;
        data.scratch0 = from == null ? 0 : from.ipv4();
        data.scratch1 = from == null ? 0 : from.port();
        if (!filters.isEmpty()) {
            PacketContext ctx = kernel.context();
            SockAddr.Inet4SockAddr f = ctx.sockAddr;
            f.setIpv4(data.scratch0);
            f.setPort(data.scratch1);
            int r = filters.dataIn(ctx, f, data, null, 0, resumeAfter);
            if (r != 0) return 0; // a later filter took or dropped it: the data is no longer the caller's
        }
        return enqueue(data);
    }

    /**
     * Receives one datagram into {@code dst}, waiting up to {@code timeout}. A datagram larger than the
     * space left is truncated (the rest is discarded, as recv without MSG_TRUNC).
     *
     * @return the sender and length, or null if the time ran out (or nothing more can be received)
     * @throws SocketError EBADF if the socket is closed
     */
    public UdpDatagram receive(ByteBuffer dst, long timeout, TimeUnit unit) throws SocketError, InterruptedException {
        long nanos = unit.toNanos(timeout);
        Mbuf m;
        lock.lock();
        try {
            while (count == 0) {
                if (closed) throw new SocketError(Errno.EBADF, "socket closed");
                if (nanos <= 0 || cantReceive) return null;
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
            int payload = m.packetLength();
            int n = Math.min(payload, dst.remaining());
            int done = 0;
            for (Mbuf b = m; b != null && done < n; b = b.next()) {
                int k = Math.min(n - done, b.length());
                MemorySegment.copy(b.segment(), b.offset(), MemorySegment.ofBuffer(dst), 0, k);
                dst.position(dst.position() + k);
                done += k;
            }
            return new UdpDatagram(m.scratch0, m.scratch1, n, n < payload);
        } finally {
            m.free();
        }
    }

    /** Sends to the connected destination. */
    public int send(ByteBuffer data) throws SocketError {
        if (remotePort == 0) throw new SocketError(Errno.EDESTADDRREQ, "not connected");
        return send(data, remoteAddress, remotePort, null);
    }

    /**
     * Sends the remaining bytes of {@code data} as one datagram; binds an ephemeral port first if unbound.
     * Datagrams larger than the MTU are fragmented. The socket filters' {@code dataOut} run first, on this
     * thread; a filter that takes the data makes the send succeed.
     *
     * @return the bytes sent
     * @throws SocketError EMSGSIZE (over 65507 bytes), ENETUNREACH (no route), ENOBUFS (no buffers), EPIPE
     *         (shut down for sending), or a filter's error
     */
    public int send(ByteBuffer data, int address, int port) throws SocketError {
        return send(data, address, port, SockAddr.of(address, port));
    }

    private int send(ByteBuffer data, int address, int port, SockAddr to) throws SocketError {
        if (closed) throw new SocketError(Errno.EBADF, "socket closed");
        if (cantSend) throw new SocketError(Errno.EPIPE, "socket shut down for sending");
        if (port <= 0 || port > 65535) throw new SocketError(Errno.EINVAL, "port " + port);
        int len = data.remaining();
        if (len > Ipv4.MAX_PACKET - Ipv4.MIN_HEADER - Udp.HEADER_LEN) throw new SocketError(Errno.EMSGSIZE, len + " bytes");
        if (localPort == 0) bindInternal(0, 0);
        PacketContext ctx = kernel.context();
        Mbuf m = kernel.buffers().alloc(Ipv4.MIN_HEADER + Udp.HEADER_LEN + len);
        if (m == null) {
            ctx.stats().inc(Stat.UDP_OUT_NO_BUFFERS);
            throw new SocketError(Errno.ENOBUFS, "no packet buffers");
        }
        m.setData(m.offset() + Udp.HEADER_LEN, len); // the payload, with room for the UDP header in front
        MemorySegment.copy(MemorySegment.ofBuffer(data), 0, m.segment(), m.offset(), len);
        data.position(data.position() + len);
        if (!filters.isEmpty()) {
            int r = filters.dataOut(ctx, to, m, null, 0, 0);
            if (r == Errno.EJUSTRETURN) return len;
            if (r != 0) throw new SocketError(r, "send refused by a socket filter");
        }
        int err = output(ctx, m, address, port);
        if (err != 0) throw new SocketError(err, "send to " + Ipv4.format(address) + ":" + port);
        return len;
    }

    @Override public int injectOut(SockAddr to, Mbuf data, int resumeAfter) {
        if (closed || cantSend) {
            data.free();
            return closed ? Errno.EBADF : Errno.EPIPE;
        }
        int address = to != null ? to.ipv4() : remoteAddress;
        int port = to != null ? to.port() : remotePort;
        if (port == 0) {
            data.free();
            return Errno.EDESTADDRREQ;
        }
        PacketContext ctx = kernel.context();
        if (!filters.isEmpty()) {
            int r = filters.dataOut(ctx, to, data, null, 0, resumeAfter);
            if (r != 0) return r == Errno.EJUSTRETURN ? 0 : r;
        }
        if (localPort == 0) {
            try {
                bindInternal(0, 0);
            } catch (SocketError e) {
                data.free();
                return e.errno();
            }
        }
        return output(ctx, data, address, port);
    }

    /** Prepends the UDP header to a payload and hands it to IP. Always takes ownership. */
    private int output(PacketContext ctx, Mbuf m, int address, int port) {
        if (m.next() != null && m.pullup(m.packetLength()) != 0) { // a chain from a filter: make it one buffer
            m.free();
            return Errno.EMSGSIZE;
        }
        int len = m.length();
        if (!m.prepend(Udp.HEADER_LEN)) {
            m.free();
            return Errno.ENOBUFS;
        }
        MemorySegment s = m.segment();
        int o = m.offset();
        int src = localAddress != 0 ? localAddress : kernel.sourceAddressFor(address);
        Udp.write(s, o, localPort, port, Udp.HEADER_LEN + len);
        Udp.fillChecksum(s, o, Udp.HEADER_LEN + len, src, address);
        ctx.stats().inc(Stat.UDP_OUT);
        return kernel.ipOutput().output(ctx, m, src, address, Ipv4.PROTO_UDP, Ipv4.DEFAULT_TTL, 0, false);
    }

    // ---- names, options, ioctl, shutdown ----

    /** {@code getsockname}: the local address, after the socket filters (which may change it). */
    public SockAddr getSockName() throws SocketError {
        SockAddr sa = SockAddr.of(localAddress, localPort);
        int r = filters.getSockName(sa);
        if (r != 0 && r != Errno.EJUSTRETURN) throw new SocketError(r, "getsockname");
        return sa;
    }

    /** {@code getpeername}: the peer address, after the socket filters. */
    public SockAddr getPeerName() throws SocketError {
        if (remotePort == 0) throw new SocketError(Errno.ENOTCONN, "not connected");
        SockAddr sa = SockAddr.of(remoteAddress, remotePort);
        int r = filters.getPeerName(sa);
        if (r != 0 && r != Errno.EJUSTRETURN) throw new SocketError(r, "getpeername");
        return sa;
    }

    /**
     * {@code setsockopt}: the socket filters first; then {@code SO_NKE} (attach a filter by its 4-byte handle)
     * and {@code SO_RCVBUF} (queue limit in datagrams) at {@code SOL_SOCKET}.
     */
    public void setOption(int level, int name, byte[] value) throws SocketError {
        if (closed) throw new SocketError(Errno.EBADF, "socket closed");
        int r = SocketOptions.set(filters, level, name, value);
        if (r == Errno.EJUSTRETURN) return;
        if (r != 0) throw new SocketError(r, "setsockopt");
        if (level == SocketConstants.SOL_SOCKET && name == SocketConstants.SO_NKE) {
            int e = value.length == 4 ? kernel.socketFilters().attach(this, ByteBuffer.wrap(value).getInt()) : Errno.EINVAL;
            if (e != 0) throw new SocketError(e, "SO_NKE");
            return;
        }
        if (level == SocketConstants.SOL_SOCKET && name == SocketConstants.SO_RCVBUF && value.length == 4) {
            int v = ByteBuffer.wrap(value).getInt();
            if (v < 1) throw new SocketError(Errno.EINVAL, "SO_RCVBUF " + v);
            setQueueLimit(v);
            return;
        }
        throw new SocketError(Errno.ENOPROTOOPT, "option " + level + "/" + name);
    }

    /** {@code getsockopt}: the socket filters first (they may supply the value); then {@code SO_RCVBUF}. */
    public byte[] getOption(int level, int name) throws SocketError {
        byte[] own = level == SocketConstants.SOL_SOCKET && name == SocketConstants.SO_RCVBUF
                ? ByteBuffer.allocate(4).putInt(queueLimit()).array() : null;
        SocketOptions.Result r = SocketOptions.get(filters, level, name, own);
        if (r.errno() == Errno.EJUSTRETURN) return r.value();
        if (r.errno() != 0) throw new SocketError(r.errno(), "getsockopt");
        if (own == null) throw new SocketError(Errno.ENOPROTOOPT, "option " + level + "/" + name);
        return r.value();
    }

    private int queueLimit() {
        lock.lock();
        try {
            return queue.length;
        } finally {
            lock.unlock();
        }
    }

    /** {@code ioctl}: only the socket filters handle ioctls on UDP sockets. */
    public int ioctl(long request, Object argument) {
        int r = filters.ioctl(request, argument);
        return r == Errno.EJUSTRETURN ? 0 : r == 0 ? Errno.EOPNOTSUPP : r;
    }

    /** {@code shutdown}: {@code SHUT_RD} flushes and stops receiving, {@code SHUT_WR} stops sending. */
    public void shutdown(int how) throws SocketError {
        if (how < SocketConstants.SHUT_RD || how > SocketConstants.SHUT_RDWR) throw new SocketError(Errno.EINVAL, "how " + how);
        filters.notify(SocketEvent.SHUTDOWN, how);
        if (how != SocketConstants.SHUT_WR) {
            lock.lock();
            try {
                while (count > 0) take().free();
                cantReceive = true;
                readable.signalAll();
            } finally {
                lock.unlock();
            }
            filters.notify(SocketEvent.FLUSH_READ, 0);
            filters.notify(SocketEvent.CANTRECVMORE, 0);
        }
        if (how != SocketConstants.SHUT_RD) {
            cantSend = true;
            filters.notify(SocketEvent.CANTSENDMORE, 0);
        }
    }

    /**
     * Closes the socket: frees its port and queued datagrams, wakes blocked receivers, tells the filters
     * ({@code closing}, then {@code disconnected} if it was connected) and detaches them.
     */
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
        filters.notify(SocketEvent.CLOSING, 0);
        if (remotePort != 0) filters.notify(SocketEvent.DISCONNECTED, 0);
        filters.close();
    }

    @Override public String toString() {
        return "udp " + (localAddress == 0 ? "*" : Ipv4.format(localAddress)) + ":" + (localPort == 0 ? "*" : localPort)
                + " " + (remotePort == 0 ? "*:*" : Ipv4.format(remoteAddress) + ":" + remotePort);
    }
}
