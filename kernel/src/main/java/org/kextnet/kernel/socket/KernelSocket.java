package org.kextnet.kernel.socket;

import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.Scratch;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketEvent;

/**
 * What every socket of the kernel has in common (xnu's {@code struct socket} and {@code uipc_socket.c}): its
 * domain, type and protocol, its state, its lock and its socket filters. The socket API calls here run the
 * filters in front of the protocol with xnu's rules, then the protocol's request ({@code pr_usrreqs}), which
 * a subclass implements: {@code UdpSocket}, the sockets of protocols extensions add, TCP later.
 *
 * <p>Filter results: 0 continues; {@link Errno#EJUSTRETURN} stops, and the call succeeds without the
 * protocol (for data: the filter now owns it); any other errno fails the call with it. Neither filters nor an
 * extension's protocol are ever called with the socket lock (or any kernel lock) held, so they may call back
 * into the socket.
 *
 * <p>The lock guards the state and the subclass's fields. State changes the filters observe
 * ({@link #soisconnecting} and friends) notify after the lock is released.
 */
public abstract class KernelSocket implements FilteredSocket, AutoCloseable {
    /** State bits ({@code so_state}). */
    private static final int SS_ISCONNECTED = 0x2, SS_ISCONNECTING = 0x4, SS_ISDISCONNECTING = 0x8,
            SS_CANTSENDMORE = 0x10, SS_CANTRCVMORE = 0x20, SS_CLOSED = 0x1000;

    /** The kernel's socket filter registry, with its contexts and grace periods. */
    protected final SocketFilters registry;
    /** The address each thread reuses to show socket filters where a datagram came from (valid during the call). */
    private static final Scratch<SockAddr.Inet4SockAddr> SENDER = Scratch.of(() -> new SockAddr.Inet4SockAddr(0, 0));
    /** Guards the socket's state and the subclass's fields; never held while a filter or extension runs. */
    protected final ReentrantLock lock = new ReentrantLock();
    private final int domain, type, protocol;
    private final SocketFilterSet filters;
    private volatile int state;

    protected KernelSocket(SocketFilters registry, int domain, int type, int protocol) {
        this.registry = registry;
        this.domain = domain;
        this.type = type;
        this.protocol = protocol;
        this.filters = new SocketFilterSet(registry, this);
    }

    @Override public int family() { return domain; }
    @Override public int type() { return type; }
    @Override public int protocol() { return protocol; }
    @Override public SocketFilterSet filters() { return filters; }
    @Override public boolean isConnected() { return (state & SS_ISCONNECTED) != 0; }
    @Override public boolean isClosed() { return (state & SS_CLOSED) != 0; }
    /** Whether sending has ended ({@code shutdown} of writing). */
    public boolean cantSendMore() { return (state & SS_CANTSENDMORE) != 0; }
    /** Whether receiving has ended ({@code shutdown} of reading). */
    public boolean cantReceiveMore() { return (state & SS_CANTRCVMORE) != 0; }

    /** Whether the calling thread holds this socket's lock (tests of the rule that filters run without it). */
    public boolean isLockHeldByCurrentThread() { return lock.isHeldByCurrentThread(); }

    /** A connection-oriented protocol refuses a second connect ({@code PR_CONNREQUIRED}); a datagram socket reconnects. */
    protected boolean connectionOriented() { return type == SocketConstants.SOCK_STREAM; }

    protected final void checkOpen() throws SocketError {
        if (isClosed()) throw new SocketError(Errno.EBADF, "socket closed");
    }

    /** Sets {@code set} and clears {@code clear}; returns the bits of {@code set} that were clear before. */
    private int change(int set, int clear) {
        lock.lock();
        try {
            int old = state;
            state = (old & ~clear) | set;
            return set & ~old;
        } finally {
            lock.unlock();
        }
    }

    // ---- state changes the protocol reports (soisconnecting and friends), each notified to the filters ----

    protected final void soisconnecting() {
        change(SS_ISCONNECTING, SS_ISCONNECTED | SS_ISDISCONNECTING);
        filters.notify(SocketEvent.CONNECTING, 0);
    }

    protected final void soisconnected() {
        change(SS_ISCONNECTED, SS_ISCONNECTING | SS_ISDISCONNECTING);
        filters.notify(SocketEvent.CONNECTED, 0);
    }

    protected final void soisdisconnecting() {
        change(SS_ISDISCONNECTING, SS_ISCONNECTING);
        filters.notify(SocketEvent.DISCONNECTING, 0);
    }

    protected final void soisdisconnected() {
        change(0, SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING);
        filters.notify(SocketEvent.DISCONNECTED, 0);
    }

    protected final void socantsendmore() {
        if (change(SS_CANTSENDMORE, 0) != 0) filters.notify(SocketEvent.CANTSENDMORE, 0);
    }

    protected final void socantrcvmore() {
        if (change(SS_CANTRCVMORE, 0) == 0) return;
        protoCantReceiveMore();
        filters.notify(SocketEvent.CANTRECVMORE, 0);
    }

    // ---- the socket API ----

    /** {@code bind}: the filters' {@code bind}, then the protocol's; then {@code bound} is notified. */
    public final void bind(SockAddr address) throws SocketError {
        checkOpen();
        int r = filters.bind(address.copy());
        if (r == Errno.EJUSTRETURN) return;
        if (r != 0) throw new SocketError(r, "bind refused by a socket filter");
        protoBind(address);
        filters.notify(SocketEvent.BOUND, 0);
    }

    /**
     * {@code connect}: a connected datagram socket disconnects first (a stream socket fails with EISCONN);
     * then the filters' {@code connectOut}, then the protocol's connect, which reports connecting and
     * connected.
     */
    public final void connect(SockAddr address) throws SocketError {
        checkOpen();
        if ((state & (SS_ISCONNECTED | SS_ISCONNECTING)) != 0) {
            if (connectionOriented()) throw new SocketError(Errno.EISCONN, "already connected");
            protoDisconnect();
        }
        int r = filters.connectOut(address.copy());
        if (r == Errno.EJUSTRETURN) return;
        if (r != 0) throw new SocketError(r, "connect refused by a socket filter");
        protoConnect(address);
    }

    /** Dissolves a datagram socket's association with its peer (connect to AF_UNSPEC). @throws SocketError ENOTCONN */
    public final void disconnect() throws SocketError {
        checkOpen();
        if (!isConnected()) throw new SocketError(Errno.ENOTCONN, "not connected");
        protoDisconnect();
    }

    /**
     * {@code shutdown}: the filters observe {@code shutdown}; reading ends with {@code flush-read} and
     * {@code cantrecvmore} (what waits is discarded), writing with {@code cantsendmore}.
     * @throws SocketError EINVAL (bad direction), ENOTCONN (not connected, as in xnu)
     */
    public final void shutdown(int how) throws SocketError {
        checkOpen();
        if (how < SocketConstants.SHUT_RD || how > SocketConstants.SHUT_RDWR) throw new SocketError(Errno.EINVAL, "shutdown " + how);
        if ((state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) == 0) {
            throw new SocketError(Errno.ENOTCONN, "not connected");
        }
        filters.notify(SocketEvent.SHUTDOWN, how);
        if (how != SocketConstants.SHUT_WR) {
            filters.notify(SocketEvent.FLUSH_READ, 0);
            socantrcvmore();
            protoFlushReceive();
        }
        if (how != SocketConstants.SHUT_RD) {
            protoShutdown(how);
            socantsendmore();
        }
    }

    /** {@code listen}: the filters' {@code listen}, then the protocol's (EOPNOTSUPP for datagram sockets). */
    public final void listen(int backlog) throws SocketError {
        checkOpen();
        int r = filters.listen();
        if (r == 0) r = protoListen(backlog);
        if (r == Errno.EJUSTRETURN) return;
        if (r != 0) throw new SocketError(r, "listen");
    }

    /**
     * {@code setsockopt}: the filters' {@code setOption} first; {@link SocketConstants#SO_NKE} (a 4-byte
     * big-endian handle) then attaches that programmatic filter; other options go to the protocol.
     */
    public final void setOption(int level, int name, byte[] value) throws SocketError {
        checkOpen();
        int r = SocketOptions.set(filters, level, name, value);
        if (r == Errno.EJUSTRETURN) return;
        if (r != 0) throw new SocketError(r, "setsockopt refused by a socket filter");
        if (level == SocketConstants.SOL_SOCKET && name == SocketConstants.SO_NKE) {
            int e = value.length == 4 ? registry.attach(this, ByteBuffer.wrap(value).getInt()) : Errno.EINVAL;
            if (e != 0) throw new SocketError(e, "SO_NKE");
            return;
        }
        r = protoSetOption(level, name, value.clone());
        if (r != 0) throw new SocketError(r, "setsockopt " + level + "/" + name);
    }

    /** {@link #setOption(int, int, byte[])} with a 4-byte big-endian value. */
    public final void setOption(int level, int name, int value) throws SocketError {
        setOption(level, name, ByteBuffer.allocate(4).putInt(value).array());
    }

    /**
     * {@code getsockopt}: the protocol's value, which the filters' {@code getOption} may replace (a filter
     * returning EJUSTRETURN answers alone).
     * @throws SocketError ENOPROTOOPT if neither the protocol nor a filter knows the option
     */
    public final byte[] getOption(int level, int name) throws SocketError {
        checkOpen();
        byte[] own = protoGetOption(level, name);
        SocketOptions.Result r = SocketOptions.get(filters, level, name, own);
        if (r.errno() == Errno.EJUSTRETURN && r.value() != null) return r.value();
        if (r.errno() != 0 && r.errno() != Errno.EJUSTRETURN) throw new SocketError(r.errno(), "getsockopt");
        if (r.value() == null) throw new SocketError(Errno.ENOPROTOOPT, "option " + level + "/" + name);
        return r.value();
    }

    /** A 4-byte option as an int. */
    public final int getIntOption(int level, int name) throws SocketError {
        byte[] v = getOption(level, name);
        if (v.length != 4) throw new SocketError(Errno.EINVAL, "option " + level + "/" + name + " is not an int");
        return ByteBuffer.wrap(v).getInt();
    }

    /**
     * {@code ioctl}: the filters' {@code ioctl}, then the protocol's.
     * @return 0, or an errno (EOPNOTSUPP if nobody handles the request)
     */
    public final int ioctl(long request, Object argument) {
        if (isClosed()) return Errno.EBADF;
        int r = filters.ioctl(request, argument);
        if (r == 0) r = protoIoctl(request, argument);
        return r == Errno.EJUSTRETURN ? 0 : r;
    }

    /** {@code getsockname}: the local address (0.0.0.0:0 while unbound), as the filters may rewrite it. */
    public final SockAddr getSockName() throws SocketError {
        checkOpen();
        SockAddr a = sockName();
        if (a == null) a = SockAddr.of(0, 0);
        int r = filters.getSockName(a);
        if (r != 0 && r != Errno.EJUSTRETURN) throw new SocketError(r, "getsockname");
        return a;
    }

    /** {@code getpeername}: the peer, as the filters may rewrite it. @throws SocketError ENOTCONN */
    public final SockAddr getPeerName() throws SocketError {
        checkOpen();
        SockAddr a = isConnected() ? peerName() : null;
        if (a == null) throw new SocketError(Errno.ENOTCONN, "not connected");
        int r = filters.getPeerName(a);
        if (r != 0 && r != Errno.EJUSTRETURN) throw new SocketError(r, "getpeername");
        return a;
    }

    /**
     * Closes the socket ({@code soclose}): the filters observe {@code closing}; a connected socket
     * disconnects; the protocol lets go of its resources and wakes blocked callers; then every filter is
     * detached (its {@code detach} follows after the calls inside it). Idempotent.
     */
    @Override public final void close() {
        if (change(SS_CLOSED, 0) == 0) return;
        filters.notify(SocketEvent.CLOSING, 0);
        if (isConnected()) protoDisconnect();
        protoClose();
        if (!protoOutlivesClose()) filters.close();
    }

    /**
     * Whether the protocol keeps the socket after {@code close} (a TCP connection sending what is left, then
     * disconnecting): its filters stay attached and hear the rest ({@code disconnected}) until the protocol lets go
     * and calls {@link #releaseFilters} (xnu's {@code sofree}). Default: no.
     */
    protected boolean protoOutlivesClose() { return false; }

    /** Detaches every filter once the protocol has let go of a closed socket ({@link #protoOutlivesClose}). */
    protected final void releaseFilters() { filters.close(); }

    // ---- data ----

    /**
     * The data-in filters on a received datagram ({@code sflt_data_in} in {@code sbappendaddr}), on the input
     * thread, before it is queued. {@code payload} holds only the data.
     *
     * @return 0: the caller still owns {@code payload} and appends it; EJUSTRETURN: a filter took it; another
     *         errno: a filter rejected it, and it was freed
     */
    protected final int filterIn(PacketContext ctx, Packet payload, int fromAddr, int fromPort) {
        if (filters.isEmpty()) return 0;
        SockAddr.Inet4SockAddr from = ctx.scratch(SENDER);
        from.setIpv4(fromAddr);
        from.setPort(fromPort);
        return filters.dataIn(ctx, from, payload, null, 0, 0);
    }

    /**
     * Sends one datagram ({@code sosend}): the data-out filters on the caller's thread, then the protocol.
     * Always takes ownership of {@code payload}.
     * @param to the destination, or null for the connected peer
     * @return 0 (also when a filter took the data), or the errno of a filter or the protocol
     */
    protected final int output(PacketContext ctx, Packet payload, SockAddr to, int flags) {
        if (cantSendMore()) {
            payload.free();
            return Errno.EPIPE;
        }
        int r = filters.isEmpty() ? 0 : filters.dataOut(ctx, to, payload, null, flags, 0);
        if (r == Errno.EJUSTRETURN) return 0;
        if (r != 0) return r; // the filter set freed it
        return protoSend(ctx, payload, to, flags);
    }

    /**
     * {@code sock_inject_data_in}: the data-in filters after {@code resumeAfter}, then the receive queue.
     * Takes ownership when it returns 0 (a later filter's taking or rejecting the data included); on an
     * error (closed, cannot receive more, queue full) the caller still owns {@code data}.
     */
    @Override public final int injectIn(SockAddr from, Packet data, int resumeAfter) {
        if (isClosed()) return Errno.EBADF;
        if (cantReceiveMore()) return Errno.ENOTCONN;
        int fromAddr = from == null ? 0 : from.ipv4(), fromPort = from == null ? 0 : from.port();
        if (!filters.isEmpty()) {
            PacketContext ctx = registry.contexts().acquire();
            try {
                SockAddr.Inet4SockAddr f = ctx.scratch(SENDER);
                f.setIpv4(fromAddr);
                f.setPort(fromPort);
                if (filters.dataIn(ctx, f, data, null, 0, resumeAfter) != 0) return 0; // taken or dropped: consumed
            } finally {
                registry.contexts().release(ctx);
            }
        }
        return protoAppend(data, fromAddr, fromPort);
    }

    /**
     * {@code sock_inject_data_out}: the data-out filters after {@code resumeAfter}, then the protocol. Always
     * takes ownership.
     * @param to the destination, or null for the connected peer
     */
    @Override public final int injectOut(SockAddr to, Packet data, int resumeAfter) {
        if (isClosed() || cantSendMore()) {
            data.free();
            return isClosed() ? Errno.EBADF : Errno.EPIPE;
        }
        PacketContext ctx = registry.contexts().acquire();
        try {
            int r = filters.isEmpty() ? 0 : filters.dataOut(ctx, to, data, null, 0, resumeAfter);
            if (r != 0) return r == Errno.EJUSTRETURN ? 0 : r;
            return protoSend(ctx, data, to, 0);
        } finally {
            registry.contexts().release(ctx);
        }
    }

    // ---- the protocol's requests ({@code pr_usrreqs}) ----

    /** {@code pru_bind}. */
    protected abstract void protoBind(SockAddr address) throws SocketError;

    /** {@code pru_connect}: reports {@link #soisconnecting} and {@link #soisconnected} as it goes. */
    protected abstract void protoConnect(SockAddr address) throws SocketError;

    /** {@code pru_disconnect}: reports {@link #soisdisconnected}. */
    protected abstract void protoDisconnect();

    /** {@code pru_shutdown}: sending ends ({@code how} is SHUT_WR or SHUT_RDWR). Default: nothing more. */
    protected void protoShutdown(int how) {}

    /** Discards what waits to be read ({@code sorflush}). */
    protected abstract void protoFlushReceive();

    /** Nothing more may be appended to the receive queue ({@code socantrcvmore}); readers wake. */
    protected abstract void protoCantReceiveMore();

    /** {@code pru_listen}. Default: EOPNOTSUPP. */
    protected int protoListen(int backlog) { return Errno.EOPNOTSUPP; }

    /** A setsockopt the filters let through. Default: ENOPROTOOPT. */
    protected int protoSetOption(int level, int name, byte[] value) { return Errno.ENOPROTOOPT; }

    /** The protocol's value of an option, or null if it has none. Default: none. */
    protected byte[] protoGetOption(int level, int name) { return null; }

    /** {@code pru_control}. Default: EOPNOTSUPP. */
    protected int protoIoctl(long request, Object argument) { return Errno.EOPNOTSUPP; }

    /**
     * {@code pru_send} of one datagram's payload. Always takes ownership.
     * @param to the destination, or null for the connected peer
     */
    protected abstract int protoSend(PacketContext ctx, Packet payload, SockAddr to, int flags);

    /**
     * Appends a received or injected payload from {@code fromAddr}:{@code fromPort} to the receive queue. Takes
     * ownership only when it returns 0; else EBADF (closed) or ENOBUFS (full).
     */
    protected abstract int protoAppend(Packet payload, int fromAddr, int fromPort);

    /** {@code pru_detach}: lets go of the protocol's resources (port, queue) and wakes blocked callers. */
    protected abstract void protoClose();
}
