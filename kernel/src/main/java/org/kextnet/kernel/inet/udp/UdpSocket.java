package org.kextnet.kernel.inet.udp;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.Scratch;
import org.kextnet.kernel.socket.DatagramQueue;
import org.kextnet.kernel.socket.KernelSocket;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Udp;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * A UDP socket for code in the JVM: bind, connect, send, receive (blocking with a timeout, or not at all),
 * socket options, shutdown; the socket filters of {@link KernelSocket} stand in front of every request.
 * Received datagrams wait in a bounded queue (their payload, the sender kept aside); when it is full, new
 * ones are dropped and counted. Blocking calls park, so virtual threads may use them freely. Thread-safe.
 *
 * <p>Filters see received data in {@code dataIn} on the receiving packet thread, before it is queued, and
 * data sent in {@code dataOut} on the sending thread. An in-kernel service (the echo service) is an ordinary
 * socket with a {@link #setReadUpcall read upcall} (xnu's {@code sock_upcall}): told on the packet thread that
 * datagrams wait, it takes them as packet buffers ({@link #receivePacket}, {@code sock_receivembuf}) and sends
 * with {@link #send(PacketContext, Packet, int, int)} ({@code sock_sendmbuf}), so filters see its traffic both
 * ways. The raw {@link #setUpcall upcall} bypasses all of that; it is a sink for tests and benchmarks.
 */
public final class UdpSocket extends KernelSocket {
    /** Datagrams a socket queues before it drops (about SO_RCVBUF). */
    public static final int DEFAULT_QUEUE_LIMIT = 256;
    /** Socket ioctl: bytes of the next datagram ({@code FIONREAD}); the argument is an {@code int[1]}. */
    public static final long FIONREAD = 0x4004667fL;
    /** The largest payload of one datagram. */
    public static final int MAX_PAYLOAD = Ipv4.MAX_PACKET - Ipv4.MIN_HEADER - Udp.HEADER_LEN;

    private final UdpLayer udp;
    private final DatagramQueue queue = new DatagramQueue(lock, DEFAULT_QUEUE_LIMIT);
    private volatile int localAddress;
    private volatile int localPort;           // 0 while unbound
    private volatile int remoteAddress;
    private volatile int remotePort;          // 0 while unconnected
    private volatile UdpUpcall upcall;
    private volatile ReadUpcall readUpcall;

    /** xnu's {@code sock_upcall}: called after datagrams were queued for the socket. */
    @FunctionalInterface
    public interface ReadUpcall {
        /**
         * Datagrams wait in {@code socket}'s queue (after the data-in filters): take them with
         * {@link UdpSocket#receivePacket}. Runs on the thread that queued them (a packet thread, or a filter's
         * re-injecting thread) with no lock held; {@code ctx} is that thread's, for sends made from here.
         */
        void readable(PacketContext ctx, UdpSocket socket);
    }

    /** The destination of a {@link #send(PacketContext, Packet, int, int)}: one reusable address per thread. */
    private static final Scratch<SockAddr.Inet4SockAddr> DESTINATION = Scratch.of(() -> new SockAddr.Inet4SockAddr(0, 0));

    UdpSocket(SocketFilters registry, UdpLayer udp) {
        super(registry, ProtocolFamily.PF_INET, SocketConstants.SOCK_DGRAM, SocketConstants.IPPROTO_UDP);
        this.udp = udp;
    }

    /** The UDP layer this socket belongs to. */
    UdpLayer layer() { return udp; }

    @Override public SockAddr sockName() { return localPort == 0 ? null : SockAddr.of(localAddress, localPort); }
    @Override public SockAddr peerName() { return remotePort == 0 ? null : SockAddr.of(remoteAddress, remotePort); }

    /**
     * Binds to {@code address} (0 for all of this host's addresses) and {@code port} (0 for an ephemeral one).
     * Socket filters' {@code bind} run first; a filter returning EJUSTRETURN makes the call succeed unbound.
     */
    public UdpSocket bind(int address, int port) throws SocketError {
        bind(SockAddr.of(address, port));
        return this;
    }

    /**
     * Sets the default destination and accepts datagrams only from it; binds an ephemeral port if unbound.
     * Socket filters' {@code connectOut} run first.
     */
    public UdpSocket connect(int address, int port) throws SocketError {
        connect(SockAddr.of(address, port));
        return this;
    }

    /**
     * Installs a raw upcall that gets each datagram whole (IP header included) on the input thread, instead of
     * the filters and the queue: a sink for tests and benchmarks. Services use {@link #setReadUpcall}.
     */
    public void setUpcall(UdpUpcall upcall) { this.upcall = upcall; }

    /** Installs (or, with null, removes) the upcall told when datagrams were queued. */
    public void setReadUpcall(ReadUpcall upcall) { this.readUpcall = upcall; }

    /** Sets how many datagrams may wait; excess ones are dropped. */
    public void setQueueLimit(int limit) { queue.setLimit(limit); }

    public int localAddress() { return localAddress; }
    public int localPort() { return localPort; }
    public int remoteAddress() { return remoteAddress; }
    public int remotePort() { return remotePort; }

    boolean accepts(int dst, int src, int srcPort) {
        if (localAddress != 0 && localAddress != dst) return false;
        return remotePort == 0 || (remoteAddress == src && remotePort == srcPort);
    }

    // ---- input ----

    /**
     * A datagram for this socket; {@code m} starts at the IP header, {@code hl} is its length. Runs the socket
     * filters' {@code dataIn} on the payload, then queues it (or up-calls the whole datagram). Takes ownership.
     */
    void deliver(PacketContext ctx, Packet m, int hl) {
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
        int r = filterIn(ctx, m, src, sport);
        if (r != 0) {
            ctx.stats().inc(r == Errno.EJUSTRETURN ? Stat.UDP_FILTER_TAKEN : Stat.UDP_FILTERED);
            return;
        }
        int flags = (m.flags() & Packet.F_BROADCAST) != 0 ? DatagramQueue.MSG_BCAST
                : (m.flags() & Packet.F_MULTICAST) != 0 ? DatagramQueue.MSG_MCAST : 0;
        if (!queue.offer(m, src, sport, flags)) {
            ctx.stats().inc(Stat.UDP_FULL_SOCKET);
            m.free();
            return;
        }
        ctx.stats().inc(Stat.UDP_DELIVERED);
        ReadUpcall ru = readUpcall;
        if (ru != null) ru.readable(ctx, this);
    }

    @Override protected int protoAppend(Packet payload, int fromAddr, int fromPort) {
        if (!queue.offer(payload, fromAddr, fromPort)) return isClosed() ? Errno.EBADF : Errno.ENOBUFS;
        ReadUpcall ru = readUpcall;
        if (ru != null) {
            PacketContext ctx = registry.contexts().acquire();
            try {
                ru.readable(ctx, this);
            } finally {
                registry.contexts().release(ctx);
            }
        }
        return 0;
    }

    /**
     * Receives one datagram into {@code dst}, waiting up to {@code timeout}. A datagram larger than the
     * space left is truncated (the rest is discarded, as recv without MSG_TRUNC).
     *
     * @return the sender and length, or null if the time ran out (or nothing more can be received)
     * @throws SocketError EBADF if the socket is closed
     */
    public UdpDatagram receive(ByteBuffer dst, long timeout, TimeUnit unit) throws SocketError, InterruptedException {
        return copyOut(queue.take(unit.toNanos(timeout)), dst);
    }

    /** Receives a datagram if one is waiting, else returns null at once. */
    public UdpDatagram tryReceive(ByteBuffer dst) throws SocketError {
        return copyOut(queue.poll(), dst);
    }

    /**
     * Takes the next datagram as a packet buffer ({@code sock_receivembuf}) if one waits, else returns null at once;
     * allocates nothing. The caller owns the packet: the payload only, with the headers it came with still in front
     * of its offset as headroom, so that it can be sent back without a copy. The sender's address and port and the
     * receive flags ({@link DatagramQueue#MSG_BCAST}, {@link DatagramQueue#MSG_MCAST}) go to {@code from[0..2]}.
     * @throws SocketError EBADF if the socket is closed, or a pending ICMP error
     */
    public Packet receivePacket(int[] from) throws SocketError {
        return queue.poll(from);
    }

    /** Datagrams waiting. */
    public int available() { return queue.size(); }

    /**
     * An ICMP error about a datagram this socket sent from {@code srcPort} to {@code dst}:{@code dstPort}. As
     * Linux does without IP_RECVERR, only a connected socket hears it, and only about its peer: its next receive
     * that finds nothing fails with {@code errno}.
     */
    void icmpError(int dst, int dstPort, int errno) {
        if (remotePort != 0 && remoteAddress == dst && remotePort == dstPort) queue.setError(errno);
    }

    private static UdpDatagram copyOut(DatagramQueue.Datagram d, ByteBuffer dst) {
        if (d == null) return null;
        Packet m = d.data();
        try {
            int payload = m.packetLength();
            int n = DatagramQueue.copyOut(m, dst);
            return new UdpDatagram(d.fromAddr(), d.fromPort(), n, n < payload);
        } finally {
            m.free();
        }
    }

    // ---- output ----

    /** Sends to the connected destination. */
    public int send(ByteBuffer data) throws SocketError {
        checkOpen();
        if (remotePort == 0) throw new SocketError(Errno.EDESTADDRREQ, "not connected");
        return send(data, null);
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
        checkOpen();
        if (port <= 0 || port > 65535) throw new SocketError(Errno.EINVAL, "port " + port);
        return send(data, SockAddr.of(address, port));
    }

    private int send(ByteBuffer data, SockAddr to) throws SocketError {
        int pending = queue.takePendingError();
        if (pending != 0) throw new SocketError(pending, "an ICMP error reported it");
        int len = data.remaining();
        if (len > MAX_PAYLOAD) throw new SocketError(Errno.EMSGSIZE, len + " bytes");
        Packet m = udp.buffers.alloc(Ipv4.MIN_HEADER + Udp.HEADER_LEN + len);
        if (m == null) {
            udp.sockets.contexts().stats().count(Stat.UDP_OUT_NO_BUFFERS);
            throw new SocketError(Errno.ENOBUFS, "no packet buffers");
        }
        m.setData(m.offset() + Udp.HEADER_LEN, len); // the payload, with room for the UDP header in front
        MemorySegment.copy(MemorySegment.ofBuffer(data), 0, m.segment(), m.offset(), len);
        PacketContext ctx = registry.contexts().acquire();
        int err;
        try {
            err = output(ctx, m, to, 0);
        } finally {
            registry.contexts().release(ctx);
        }
        if (err != 0) throw new SocketError(err, "send to " + (to == null ? "the peer" : to));
        data.position(data.position() + len); // consumed only once sent, so a refused send can be retried as is
        return len;
    }

    /**
     * Sends {@code payload} (data only, with room in front for the headers) to {@code address}:{@code port}
     * ({@code sock_sendmbuf}): the data-out filters, then UDP and IP, on this thread with its context. Takes
     * ownership always.
     * @return 0 (also when a filter took it), or the errno of a filter or the protocol
     */
    public int send(PacketContext ctx, Packet payload, int address, int port) {
        if (isClosed()) {
            payload.free();
            return Errno.EBADF;
        }
        SockAddr.Inet4SockAddr to = ctx.scratch(DESTINATION);
        to.setIpv4(address);
        to.setPort(port);
        return output(ctx, payload, to, 0);
    }

    /** Binds an ephemeral port if needed, prepends the UDP header and hands the datagram to IP. Takes ownership. */
    @Override protected int protoSend(PacketContext ctx, Packet m, SockAddr to, int flags) {
        int address = to != null ? to.ipv4() : remoteAddress;
        int port = to != null ? to.port() : remotePort;
        if (port <= 0 || port > 65535) {
            m.free();
            return port == 0 && to == null ? Errno.EDESTADDRREQ : Errno.EINVAL;
        }
        if (m.next() != null && m.pullup(m.packetLength()) != 0) { // a chain from a filter: make it one buffer
            m.free();
            return Errno.EMSGSIZE;
        }
        if (localPort == 0) {
            try {
                bindLocal(0, 0); // udp_output's implicit bind: no filter sees it
            } catch (SocketError e) {
                m.free();
                return e.errno();
            }
        }
        int len = m.length();
        if (!m.prepend(Udp.HEADER_LEN)) {
            m.free();
            return Errno.ENOBUFS;
        }
        MemorySegment s = m.segment();
        int o = m.offset();
        int src = localAddress != 0 ? localAddress : udp.ip.config().sourceAddressFor(address);
        Udp.write(s, o, localPort, port, Udp.HEADER_LEN + len);
        Udp.fillChecksum(s, o, Udp.HEADER_LEN + len, src, address);
        ctx.stats().inc(Stat.UDP_OUT);
        return udp.ip.output().output(ctx, m, src, address, Ipv4.PROTO_UDP, Ipv4.DEFAULT_TTL, 0, false);
    }

    // ---- the protocol's side of the requests ----

    @Override protected void protoBind(SockAddr address) throws SocketError {
        bindLocal(address.ipv4(), address.port());
    }

    private void bindLocal(int address, int port) throws SocketError {
        lock.lock();
        try {
            checkOpen();
            if (localPort != 0) throw new SocketError(Errno.EINVAL, "already bound to port " + localPort);
            if (address != 0 && !udp.ip.config().isLocalAddress(address)) throw new SocketError(Errno.EADDRNOTAVAIL, Ipv4.format(address) + " is not an address of this host");
            int p = udp.bind(this, port);
            if (p < 0) throw new SocketError(-p, "bind to port " + port);
            localAddress = address;
            localPort = p;
        } finally {
            lock.unlock();
        }
    }

    /** UDP's connect only records the peer: connecting and connected follow each other at once. */
    @Override protected void protoConnect(SockAddr address) throws SocketError {
        int port = address.port();
        if (port <= 0 || port > 65535) throw new SocketError(Errno.EINVAL, "port " + port);
        if (localPort == 0) bindLocal(0, 0);
        soisconnecting();
        remoteAddress = address.ipv4();
        remotePort = port;
        soisconnected();
    }

    @Override protected void protoDisconnect() {
        remotePort = 0;
        remoteAddress = 0;
        soisdisconnected();
    }

    @Override protected void protoFlushReceive() { queue.flush(); }

    @Override protected void protoCantReceiveMore() { queue.markEof(); }

    /** {@code SO_RCVBUF} at {@code SOL_SOCKET}: the queue limit, in datagrams. */
    @Override protected int protoSetOption(int level, int name, byte[] value) {
        if (level != SocketConstants.SOL_SOCKET || name != SocketConstants.SO_RCVBUF) return Errno.ENOPROTOOPT;
        if (value.length != 4) return Errno.EINVAL;
        int v = ByteBuffer.wrap(value).getInt();
        if (v < 1) return Errno.EINVAL;
        queue.setLimit(v);
        return 0;
    }

    @Override protected byte[] protoGetOption(int level, int name) {
        if (level != SocketConstants.SOL_SOCKET || name != SocketConstants.SO_RCVBUF) return null;
        return ByteBuffer.allocate(4).putInt(queue.limit()).array();
    }

    @Override protected int protoIoctl(long request, Object argument) {
        if (request == FIONREAD && argument instanceof int[] out && out.length > 0) {
            out[0] = queue.nextLength();
            return 0;
        }
        return Errno.EOPNOTSUPP;
    }

    @Override protected void protoClose() {
        queue.close();
        int p = localPort;
        if (p != 0) udp.unbind(this, p);
    }

    @Override public String toString() {
        return "udp " + (localAddress == 0 ? "*" : Ipv4.format(localAddress)) + ":" + (localPort == 0 ? "*" : localPort)
                + " " + (remotePort == 0 ? "*:*" : Ipv4.format(remoteAddress) + ":" + remotePort);
    }
}
