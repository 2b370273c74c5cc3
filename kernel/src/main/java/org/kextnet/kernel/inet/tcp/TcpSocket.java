package org.kextnet.kernel.inet.tcp;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.socket.KernelSocket;
import org.kextnet.kernel.socket.Readiness;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.sync.EventCount;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * A TCP socket for code in the JVM (xnu's {@code tcp_usrreqs} under {@code struct socket}): the socket layer's
 * rules and socket filters ({@link KernelSocket}) in front of a {@link TcpConnection} or, once listening, a
 * {@link TcpListener}. Every socket-filter callback fires with xnu's meaning: the notify events as the connection
 * moves ({@code connecting}, {@code connected}, {@code disconnecting}, {@code disconnected}, {@code cantrecvmore},
 * ...), {@code connect_out} before a connect, {@code connect_in} on the listening socket before a SYN may make a
 * connection, {@code accept} on an accepted socket, {@code data_out} before data enters the send buffer and
 * {@code data_in} before received data becomes readable (only while a filter is attached: the engine then hands
 * in-order data up before it is readable).
 *
 * <p>Calls block, on virtual threads too, unless {@link #setBlocking(boolean) blocking} is off: then they return at
 * once with what they could do, and a {@link Readiness} selector says when to call again. Every wait is bounded by
 * the timeout the call takes or the socket's own ({@link #setTimeout}).
 *
 * <p>Locking: the socket's lock guards its fields; the engine's calls into it (events, data-in) come with no TCP
 * lock held, and filters are called with no lock held at all. A blocked call waits on {@link #changed} with no
 * lock held, having read its count before it tested what it waits for.
 */
public final class TcpSocket extends KernelSocket implements TcpUpcall, TcpListenUpcall {
    /** Data handed to the data-out filters in pieces of at most this many bytes (one filter call each). */
    private static final int FILTER_CHUNK = 16 * 1024;

    private final TcpLayer tcp;
    /**
     * Signalled after every change a blocked call may wait for (events, acceptable connections, close). Not a
     * Condition of the socket's lock: a socket is signalled once per few segments, and a Condition would allocate
     * on that path (see {@link EventCount}).
     */
    private final EventCount changed = new EventCount();
    private final TcpSocketOptions options;
    private final Readiness.Source readiness = new Readiness.Source(this::readyOps);
    /** The connection, until the socket listens. */
    private TcpConnection conn;
    private TcpListener listener;
    private volatile boolean blocking = true;
    /** The timeout of calls without one of their own; 0: none. */
    private volatile long timeoutNanos;
    /** SO_LINGER: -1 off, else how long close waits for the data to be acknowledged (0: abort). */
    private volatile long lingerNanos = -1;
    /** The connection has left the stack ({@link TcpUpcall#RELEASED}). */
    private volatile boolean released;
    /** Whether the engine's CONNECTED (or DISCONNECTED) upcall has run: the socket's connected state is then true. */
    private volatile boolean connectHeard;
    /** How long accept waits for an accepted connection's CONNECTED upcall (it runs just after the engine queues it). */
    private static final long CONNECT_HEARD_WAIT = TimeUnit.SECONDS.toNanos(10);
    /** The owner's upcall ({@link #setUpcall}), or null. */
    private volatile Runnable upcall;

    TcpSocket(TcpLayer tcp) {
        this(tcp, null, new TcpSocketOptions());
    }

    private TcpSocket(TcpLayer tcp, TcpConnection accepted, TcpSocketOptions options) {
        super(tcp.sockets(), ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP);
        this.tcp = tcp;
        this.options = options;
        this.conn = accepted != null ? accepted : tcp.stack().open(this, options);
    }

    // ---- the application's calls ----

    /** Whether calls wait (the default) or return at once with what they could do. */
    public void setBlocking(boolean on) { blocking = on; }

    public boolean isBlocking() { return blocking; }

    /** The timeout of calls that take none; 0 (the default) waits as long as it takes. */
    public void setTimeout(long timeout, TimeUnit unit) { timeoutNanos = unit.toNanos(timeout); }

    /** This socket's readiness, for a {@link Readiness} selector. */
    public Readiness.Source readiness() { return readiness; }

    /**
     * Sets the socket's upcall (xnu's {@code so_upcall}, set with {@code sock_setupcall}): run after every change that
     * may make the socket ready (data or the end arrived, room in the send buffer, a connection to accept, an error,
     * the socket closed), on the thread that made the change, usually a packet thread, with no lock held. Code served
     * this way (xnu's in-kernel servers, the echo service) costs no thread hand-off: the upcall calls the socket's
     * operations with blocking off ({@link #setBlocking}) and does what they allow now. It must not block or wait,
     * and should not throw (the packet thread would see it). Calls for one socket may overlap (the packet thread's,
     * and the owner's own when it closes or writes): the upcall serializes itself. Null removes it.
     */
    public void setUpcall(Runnable upcall) { this.upcall = upcall; }

    /** Binds to {@code address}:{@code port} (0, 0 for any address and an ephemeral port). */
    public TcpSocket bind(int address, int port) throws SocketError {
        bind(SockAddr.of(address, port));
        return this;
    }

    /**
     * Connects to {@code address}:{@code port}: the socket filters' {@code connect_out} first, then the handshake.
     * A blocking socket waits for it to complete (within its timeout); a non-blocking one returns at once and
     * {@link #finishConnect} tells.
     * @throws SocketError ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EHOSTUNREACH, EISCONN, or a filter's error
     */
    public void connect(int address, int port) throws SocketError, InterruptedException {
        connect(SockAddr.of(address, port));
        if (!blocking) return;
        long deadline = deadline(timeoutNanos == 0 ? Long.MAX_VALUE : timeoutNanos);
        TcpConnection c = connection();
        while (true) {
            int seen = changed.count();
            if (c.isConnectFinished()) break;
            if (!await(seen, deadline)) throw new SocketError(Errno.ETIMEDOUT, "connect to " + SockAddr.of(address, port));
        }
        int e = c.takeErrno();
        if (e != 0) throw new SocketError(e, "connect to " + SockAddr.of(address, port));
    }

    /**
     * Whether a non-blocking connect has finished (OP_CONNECT): true once connected.
     * @throws SocketError the error it failed with
     */
    public boolean finishConnect() throws SocketError {
        TcpConnection c = connection();
        if (!c.isConnectFinished()) return false;
        int e = c.takeErrno();
        if (e != 0) throw new SocketError(e, "connect");
        return true;
    }

    /**
     * Accepts the next connection, waiting up to {@code timeout} (a non-blocking socket never waits). The accepted
     * socket's filters hear {@code accept} first and may refuse it: it is then closed and the next one is taken.
     * @return the connected socket, or null if none came in time
     * @throws SocketError EINVAL (not listening), EBADF (closed)
     */
    public TcpSocket accept(long timeout, TimeUnit unit) throws SocketError, InterruptedException {
        long deadline = deadline(blocking ? unit.toNanos(timeout) : -1);
        while (true) {
            TcpConnection c;
            while (true) {
                int seen = changed.count();
                lock.lock();
                try {
                    checkOpen();
                    if (listener == null) throw new SocketError(Errno.EINVAL, "not listening");
                    c = listener.accept();
                } finally {
                    lock.unlock();
                }
                if (c != null) break;
                if (!await(seen, deadline)) return null;
            }
            TcpSocket so = (TcpSocket) c.upcall();
            so.awaitConnectHeard();
            TcpEndpoint l = c.local(), r = c.remote();
            int refused = so.filters().accept(so, SockAddr.of(l.ipv4(), l.port()), SockAddr.of(r.ipv4(), r.port()));
            if (refused == 0) return so;
            so.abortSocket();
        }
    }

    /**
     * The engine queues an established connection for accept under its lock and runs the CONNECTED upcall after
     * letting go of it, so an accept can find the connection first: wait for the upcall, so that the socket accept
     * returns is connected (getpeername works) and its filters heard "connected" before "accept", as in xnu.
     */
    private void awaitConnectHeard() throws InterruptedException {
        long deadline = System.nanoTime() + CONNECT_HEARD_WAIT;
        while (true) {
            int seen = changed.count();
            if (connectHeard || !await(seen, deadline)) return; // woken by events()
        }
    }

    /** Accepts a connection if one is waiting, else returns null at once. */
    public TcpSocket tryAccept() throws SocketError {
        boolean was = blocking;
        try {
            blocking = false;
            return accept(0, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            blocking = was;
        }
    }

    /**
     * Reads what has arrived into {@code dst}, waiting up to {@code timeout} for something when nothing has
     * (a non-blocking socket never waits).
     * @return bytes read; 0 if nothing came in time (or {@code dst} is full); -1 at the end of the stream
     * @throws SocketError the connection's error (ECONNRESET, ETIMEDOUT...), once; ENOTCONN; EBADF
     */
    public int read(ByteBuffer dst, long timeout, TimeUnit unit) throws SocketError, InterruptedException {
        if (!dst.hasRemaining()) return 0;
        long deadline = deadline(blocking ? unit.toNanos(timeout) : -1);
        TcpConnection c = connection();
        while (true) {
            int seen = changed.count();
            int n;
            try {
                n = c.read(dst);
            } catch (TcpException e) {
                throw TcpLayer.error(e);
            }
            if (n != 0) return n;
            checkOpen();
            if (!await(seen, deadline)) return 0;
        }
    }

    /** {@link #read(ByteBuffer, long, TimeUnit)} with the socket's timeout. */
    public int read(ByteBuffer dst) throws SocketError, InterruptedException {
        return read(dst, timeoutNanos == 0 ? Long.MAX_VALUE : timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Writes {@code src}: a blocking socket waits until all of it is in the send buffer (within the timeout); a
     * non-blocking one takes what fits. The data-out filters see it first, in pieces, on this thread.
     * @return bytes taken (a filter that swallows data counts it as taken)
     * @throws SocketError EPIPE (shut down or closed), ENOTCONN, the connection's error, or a filter's
     */
    public int write(ByteBuffer src) throws SocketError, InterruptedException {
        long deadline = deadline(blocking ? (timeoutNanos == 0 ? Long.MAX_VALUE : timeoutNanos) : -1);
        TcpConnection c = connection();
        int total = 0;
        while (src.hasRemaining()) {
            int seen = changed.count();
            int n = filters().isEmpty() ? writeDirect(c, src) : writeFiltered(c, src);
            total += n;
            if (n > 0) continue;
            checkOpen();
            if (!await(seen, deadline)) break;
        }
        return total;
    }

    private static int writeDirect(TcpConnection c, ByteBuffer src) throws SocketError {
        try {
            return c.write(src);
        } catch (TcpException e) {
            throw TcpLayer.error(e);
        }
    }

    /** A piece of {@code src} (as much as the send buffer takes) through the data-out filters, then the engine. */
    private int writeFiltered(TcpConnection c, ByteBuffer src) throws SocketError {
        int room = c.writable();
        if (room == 0) {
            try {
                // Nothing: reports a pending error or EPIPE, and asks for WRITABLE under the connection's lock if
                // the buffer is still full.
                c.write(src.slice(src.position(), 0));
            } catch (TcpException e) {
                throw TcpLayer.error(e);
            }
            // The buffer may have drained between the two calls, before WRITABLE was asked for: then no event
            // will come to end the caller's wait, so the piece goes now.
            room = c.writable();
            if (room == 0) return 0;
        }
        int len = Math.min(Math.min(src.remaining(), room), FILTER_CHUNK);
        Packet m = tcp.contexts().buffers().alloc(len);
        if (m == null) throw new SocketError(Errno.ENOBUFS, "no packet buffers");
        m.setLength(len);
        MemorySegment.copy(MemorySegment.ofBuffer(src), 0, m.segment(), m.offset(), len);
        Contexts contexts = tcp.contexts();
        PacketContext ctx = contexts.acquire();
        int err;
        try {
            err = output(ctx, m, null, 0);
        } finally {
            contexts.release(ctx);
        }
        if (err != 0) throw new SocketError(err, "send");
        src.position(src.position() + len);
        return len;
    }

    /** Bytes a read would return now. */
    public int available() { return connection().readable(); }

    /** The engine's connection (null once listening). */
    public TcpConnection connection() {
        lock.lock();
        try {
            return conn;
        } finally {
            lock.unlock();
        }
    }

    /** The listener, once listening, else null. */
    public TcpListener listener() {
        lock.lock();
        try {
            return listener;
        } finally {
            lock.unlock();
        }
    }

    /** Options for {@link #setOption(int, int, int)} at SOL_SOCKET and IPPROTO_TCP: see {@link #protoSetOption}. */
    public void setLinger(boolean on, int seconds) throws SocketError {
        setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, ByteBuffer.allocate(8).putInt(on ? 1 : 0).putInt(seconds).array());
    }

    /** What a selector may report: OP_READ 1, OP_WRITE 4, OP_CONNECT 8, OP_ACCEPT 16 (java.nio's values). */
    int readyOps() {
        TcpListener l;
        TcpConnection c;
        lock.lock();
        try {
            l = listener;
            c = conn;
        } finally {
            lock.unlock();
        }
        if (isClosed()) return Readiness.OP_READ | Readiness.OP_WRITE;
        if (l != null) return l.pending() > 0 || l.isClosed() ? Readiness.OP_ACCEPT : 0;
        int ops = 0;
        if (c.isReadable()) ops |= Readiness.OP_READ;
        if (c.isWritable()) ops |= Readiness.OP_WRITE;
        if (c.isConnectFinished() && c.remote() != null) ops |= Readiness.OP_CONNECT;
        return ops;
    }

    private static long deadline(long nanos) {
        if (nanos < 0) return Long.MIN_VALUE; // non-blocking: no wait at all
        if (nanos == Long.MAX_VALUE) return Long.MAX_VALUE;
        return System.nanoTime() + nanos;
    }

    /**
     * Waits, with no lock held, for a change after the count {@code seen} (read before the caller tested what it
     * waits for); false once the deadline passed (the caller gives up).
     */
    private boolean await(int seen, long deadline) throws InterruptedException {
        if (deadline == Long.MIN_VALUE) return false;
        return changed.awaitChange(seen, deadline);
    }

    private void wake() {
        changed.signalAll();
        readiness.changed();
        Runnable u = upcall;
        if (u != null) u.run();
    }

    // ---- the engine's calls (TcpUpcall, TcpListenUpcall), with no TCP lock held ----

    @Override public void events(TcpConnection c, int events) {
        if ((events & CONNECTING) != 0) soisconnecting();
        if ((events & CONNECTED) != 0) soisconnected();
        if ((events & DISCONNECTING) != 0) soisdisconnecting();
        if ((events & CANT_RECV_MORE) != 0) socantrcvmore();
        if ((events & DISCONNECTED) != 0) {
            soisdisconnected();
            socantsendmore();
        }
        if ((events & (CONNECTED | DISCONNECTED)) != 0) connectHeard = true;
        if ((events & RELEASED) != 0) {
            released = true;
            if (isClosed()) releaseFilters(); // the socket was closed: its filters heard the end, now they go
        }
        wake();
    }

    /** In-order data before it becomes readable: the socket filters' {@code data_in}. */
    @Override public int dataIn(TcpConnection c, Packet data, int flags) {
        TcpEndpoint r = c.remote();
        Contexts contexts = tcp.contexts();
        PacketContext ctx = contexts.acquire();
        try {
            int e = filterIn(ctx, data, r == null ? 0 : r.ipv4(), r == null ? 0 : r.port());
            // 0: let it in; EJUSTRETURN: a filter has it. An error: the filter set freed it, so it is not TCP's any more.
            return e == 0 ? 0 : Errno.EJUSTRETURN;
        } finally {
            contexts.release(ctx);
        }
    }

    /** A SYN for the listening socket: its filters' {@code connect_in} may refuse it. */
    @Override public int connectIn(TcpListener l, TcpEndpoint remote, TcpEndpoint local) {
        return filters().connectIn(SockAddr.of(remote.ipv4(), remote.port()));
    }

    /** A connection for the listening socket: a socket of its own, which the global filters join. */
    @Override public TcpUpcall newConnection(TcpListener l, TcpConnection child) {
        TcpSocket so = new TcpSocket(tcp, child, options.copy());
        so.blocking = blocking;
        so.timeoutNanos = timeoutNanos;
        tcp.sockets().socketCreated(so);
        if (!so.filters().isEmpty()) child.setDataInterception(true);
        return so;
    }

    @Override public void acceptable(TcpListener l) { wake(); }

    // ---- the protocol's requests (pr_usrreqs) ----

    @Override protected void protoBind(SockAddr address) throws SocketError {
        try {
            connection().bind(TcpEndpoint.ipv4(address.ipv4(), address.port()));
        } catch (TcpException e) {
            throw TcpLayer.error(e);
        }
    }

    @Override protected void protoConnect(SockAddr address) throws SocketError {
        TcpConnection c = connection();
        if (c == null) throw new SocketError(Errno.EOPNOTSUPP, "listening");
        if (!filters().isEmpty()) c.setDataInterception(true);
        try {
            c.connect(TcpEndpoint.ipv4(address.ipv4(), address.port()));
        } catch (TcpException e) {
            throw TcpLayer.error(e);
        }
    }

    @Override protected int protoListen(int backlog) {
        lock.lock();
        try {
            if (listener != null) return 0;
            if (conn.state() != TcpState.CLOSED || conn.remote() != null) return Errno.EINVAL;
            TcpEndpoint local = conn.local();
            try {
                listener = tcp.stack().listen(local != null ? local : TcpEndpoint.ipv4(0, 0), Math.max(1, backlog), options, this);
            } catch (TcpException e) {
                return e.errno();
            }
            TcpConnection bound = conn;
            conn = null;
            bound.abort(); // its port, if bound, is the listener's now
            return 0;
        } finally {
            lock.unlock();
        }
    }

    /** A connection is disconnected by closing it: TCP cannot dissolve a connection and keep the socket. */
    @Override protected void protoDisconnect() {}

    @Override protected void protoShutdown(int how) {
        TcpConnection c = connection();
        if (c != null) c.shutdownOutput();
    }

    @Override protected void protoFlushReceive() {
        TcpConnection c = connection();
        if (c != null) c.shutdownInput();
    }

    @Override protected void protoCantReceiveMore() {}

    @Override protected int protoSend(PacketContext ctx, Packet payload, SockAddr to, int flags) {
        TcpConnection c = connection();
        if (c == null) {
            payload.free();
            return Errno.ENOTCONN;
        }
        return c.write(payload);
    }

    /** A filter re-injects received data ({@code sock_inject_data_in}): it becomes readable after what is. */
    @Override protected int protoAppend(Packet payload, int fromAddr, int fromPort) {
        TcpConnection c = connection();
        return c == null ? Errno.ENOTCONN : c.appendReceived(payload);
    }

    @Override protected void protoClose() {
        TcpConnection c;
        TcpListener l;
        lock.lock();
        try {
            c = conn;
            l = listener;
        } finally {
            lock.unlock();
        }
        if (l != null) {
            l.close(); // connections not yet accepted are reset
        } else if (lingerNanos == 0) {
            c.abort();
        } else {
            c.close();
            if (lingerNanos > 0) awaitReleased(c, System.nanoTime() + lingerNanos);
        }
        wake();
    }

    /** A connection closed by the user lives on until it is released; its filters hear it out. */
    @Override protected boolean protoOutlivesClose() {
        return connection() != null && !released;
    }

    private void abortSocket() {
        lingerNanos = 0;
        close();
    }

    /** SO_LINGER with a timeout: close waits until the connection is gone or the time is up. */
    private void awaitReleased(TcpConnection c, long deadline) {
        try {
            while (true) {
                int seen = changed.count();
                if (c.state() == TcpState.CLOSED || c.state() == TcpState.TIME_WAIT) return;
                if (!await(seen, deadline)) return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override protected int protoSetOption(int level, int name, byte[] value) {
        ByteBuffer v = ByteBuffer.wrap(value);
        TcpConnection c = connection();
        if (level == SocketConstants.SOL_SOCKET) {
            switch (name) {
                case SocketConstants.SO_LINGER -> {
                    if (value.length != 8) return Errno.EINVAL;
                    boolean on = v.getInt() != 0;
                    int seconds = v.getInt();
                    if (seconds < 0) return Errno.EINVAL;
                    lingerNanos = on ? TimeUnit.SECONDS.toNanos(seconds) : -1;
                    return 0;
                }
                case SocketConstants.SO_SNDBUF, SocketConstants.SO_RCVBUF, SocketConstants.SO_KEEPALIVE, SocketConstants.SO_OOBINLINE -> {
                    if (value.length != 4) return Errno.EINVAL;
                    int n = v.getInt();
                    if (n < 0 || n == 0 && (name == SocketConstants.SO_SNDBUF || name == SocketConstants.SO_RCVBUF)) return Errno.EINVAL;
                    if (c == null) { // a listener: the connections it makes from now on start with these
                        switch (name) {
                            case SocketConstants.SO_SNDBUF -> options.sendBuffer = n;
                            case SocketConstants.SO_RCVBUF -> options.receiveBuffer = n;
                            case SocketConstants.SO_KEEPALIVE -> options.keepAlive = n != 0;
                            default -> options.oobInline = n != 0;
                        }
                        return 0;
                    }
                    switch (name) {
                        case SocketConstants.SO_SNDBUF -> c.setSendBuffer(n);
                        case SocketConstants.SO_RCVBUF -> c.setReceiveBuffer(n);
                        case SocketConstants.SO_KEEPALIVE -> c.setKeepAlive(n != 0, 0, 0, 0);
                        default -> c.setOobInline(n != 0);
                    }
                    return 0;
                }
                default -> { return Errno.ENOPROTOOPT; }
            }
        }
        if (level != SocketConstants.IPPROTO_TCP) return Errno.ENOPROTOOPT;
        if (name == SocketConstants.TCP_CONGESTION) {
            String cc = new String(value, java.nio.charset.StandardCharsets.US_ASCII).trim();
            try {
                if (c != null) {
                    c.setCongestionControl(cc);
                } else {
                    CongestionControl.create(cc); // a listener's connections must be able to use it
                    options.congestionControl = cc;
                }
            } catch (IllegalArgumentException e) {
                return Errno.ENOENT;
            }
            return 0;
        }
        if (value.length != 4) return Errno.EINVAL;
        int n = v.getInt();
        switch (name) {
            case SocketConstants.TCP_NODELAY -> {
                if (c != null) c.setNoDelay(n != 0);
                else options.noDelay = n != 0;
            }
            case SocketConstants.TCP_MAXSEG -> {
                if (n < 64 || n > 65495) return Errno.EINVAL;
                if (c != null) c.setMaxSegment(n);
                else options.maxSegment = n;
            }
            default -> { return Errno.ENOPROTOOPT; }
        }
        return 0;
    }

    @Override protected byte[] protoGetOption(int level, int name) {
        TcpConnection c = connection();
        ByteBuffer b = ByteBuffer.allocate(4);
        if (level == SocketConstants.SOL_SOCKET) {
            return switch (name) {
                case SocketConstants.SO_ERROR -> b.putInt(c == null ? 0 : c.takeErrno()).array();
                case SocketConstants.SO_SNDBUF -> c == null ? null : b.putInt(c.sendBuffer()).array();
                case SocketConstants.SO_RCVBUF -> c == null ? null : b.putInt(c.receiveBuffer()).array();
                case SocketConstants.SO_LINGER -> {
                    long l = lingerNanos;
                    yield ByteBuffer.allocate(8).putInt(l >= 0 ? 1 : 0).putInt(l >= 0 ? (int) TimeUnit.NANOSECONDS.toSeconds(l) : 0).array();
                }
                default -> null;
            };
        }
        if (level != SocketConstants.IPPROTO_TCP || c == null) return null;
        return switch (name) {
            case SocketConstants.TCP_NODELAY -> b.putInt(c.noDelay() ? 1 : 0).array();
            case SocketConstants.TCP_MAXSEG -> b.putInt(c.mss()).array();
            case SocketConstants.TCP_CONGESTION -> c.congestionControl().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            default -> null;
        };
    }

    @Override public SockAddr sockName() {
        TcpEndpoint l;
        lock.lock();
        try {
            l = listener != null ? listener.local() : conn.local();
        } finally {
            lock.unlock();
        }
        return l == null ? null : SockAddr.of(l.ipv4(), l.port());
    }

    @Override public SockAddr peerName() {
        TcpConnection c = connection();
        TcpEndpoint r = c == null ? null : c.remote();
        return r == null ? null : SockAddr.of(r.ipv4(), r.port());
    }

    @Override public String toString() {
        TcpConnection c = connection();
        return "tcp " + (c != null ? c.info() : "listening on " + listener().local());
    }
}
