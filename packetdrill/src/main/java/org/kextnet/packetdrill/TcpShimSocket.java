package org.kextnet.packetdrill;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.inet.tcp.TcpConnection;
import org.kextnet.kernel.inet.tcp.TcpEndpoint;
import org.kextnet.kernel.inet.tcp.TcpException;
import org.kextnet.kernel.inet.tcp.TcpInfo;
import org.kextnet.kernel.inet.tcp.TcpListener;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.inet.tcp.TcpState;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * A kernel {@link TcpSocket} as packetdrill's calls see it. The socket is non-blocking: every call is one attempt,
 * and the shim blocks on virtual time by watching {@link #pollEvents}, which reports what Linux's {@code tcp_poll}
 * would. Linux's option numbers are mapped to kextnet's; what kextnet has no equivalent for is ENOPROTOOPT, or
 * EOPNOTSUPP for a flag (docs/packetdrill.md lists them).
 *
 * <p>Where Linux and kextnet differ in a call's meaning, this adapter speaks Linux where it can without changing
 * what the stack does: {@code SO_LINGER} is kept here (with a zero timeout close aborts; with a positive one close
 * does not wait, as on a non-blocking socket), keepalive's idle time, interval and count are kept here and handed
 * to the connection whole, {@code TCP_INFO} is Linux's structure filled from {@link TcpInfo} where a field has an
 * equivalent. {@code MSG_PEEK} is EOPNOTSUPP: the engine's read always consumes.
 */
final class TcpShimSocket extends ShimSocket {
    /** Linux's smallest buffers ({@code SOCK_MIN_SNDBUF}, {@code SOCK_MIN_RCVBUF}): a smaller setting means these. */
    static final int MIN_SNDBUF = 4608, MIN_RCVBUF = 2304;
    /** Linux's {@code TCP_MSS_DEFAULT}: what {@code TCP_MAXSEG} reads before a connection has an MSS. */
    static final int MSS_DEFAULT = 536;
    /** The length of Linux's {@code struct tcp_info} as packetdrill knows it (up to the accurate-ECN counters). */
    static final int TCP_INFO_LENGTH = 280;
    /** Linux's {@code TCP_CC_INFO} and {@code SO_MEMINFO} (9 counters), which packetdrill's code events read. */
    static final int TCP_CC_INFO = 26, SO_MEMINFO = 55, MEMINFO_VARS = 9;

    private final ShimKernel kernel;
    private final TcpSocket so;
    private boolean connectStarted;
    private int reuseAddress, reusePort, oobInline;
    /** SO_LINGER as set: on, and the timeout in seconds. */
    private boolean lingerOn;
    private int lingerSeconds;
    /** SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL (seconds, 0: the system's) and TCP_KEEPCNT. */
    private boolean keepAlive;
    private int keepIdle, keepInterval, keepCount;
    private int userTimeoutMillis;
    /** TCP_MAXSEG as set (0: not set), what Linux reports before a connection has its MSS. */
    private int maxSegment;
    /** SO_RCVBUF as set: Linux reports twice the value set. */
    private boolean receiveBufferSet;
    /** EPOLLET's arrivals: connections queued on a listener, state changes of a connection. */
    private long arrivals;
    private int lastPending;
    private TcpState lastState;
    private ByteBuffer discard;

    TcpShimSocket(ShimKernel kernel) { this(kernel, kernel.openTcp()); }

    private TcpShimSocket(ShimKernel kernel, TcpSocket so) {
        this.kernel = kernel;
        this.so = so;
        so.setBlocking(false); // the shim blocks, on virtual time
    }

    /** An accepted connection: it inherits the listener's socket options, as in Linux. */
    private TcpShimSocket(TcpShimSocket listener, TcpSocket so) {
        this(listener.kernel, so);
        reuseAddress = listener.reuseAddress;
        reusePort = listener.reusePort;
        oobInline = listener.oobInline;
        lingerOn = listener.lingerOn;
        lingerSeconds = listener.lingerSeconds;
        keepAlive = listener.keepAlive;
        keepIdle = listener.keepIdle;
        keepInterval = listener.keepInterval;
        keepCount = listener.keepCount;
        userTimeoutMillis = listener.userTimeoutMillis;
        maxSegment = listener.maxSegment;
        receiveBufferSet = listener.receiveBufferSet;
        TcpConnection c = so.connection();
        if (keepAlive) applyKeepalive(c);
        if (userTimeoutMillis > 0) c.setUserTimeout(TimeUnit.MILLISECONDS.toNanos(userTimeoutMillis));
    }

    @Override int type() { return Linux.SOCK_STREAM; }
    @Override int protocol() { return Linux.IPPROTO_TCP; }

    // ---- readiness ----

    /**
     * As Linux's {@code tcp_poll}: a listener is readable with a connection to accept; a connection is readable with
     * data or once receiving has ended (the peer's FIN, SHUT_RD, a reset: then POLLRDHUP too), writable once
     * synchronized with a third of the send buffer free (Linux's {@code sk_stream_is_writeable}: free space at
     * least half of what is queued) or once sending has ended; POLLHUP when both directions have ended or the
     * connection is CLOSED (a new socket too, as Linux); POLLERR with a pending error.
     */
    @Override int pollEvents() {
        TcpListener l = so.listener();
        if (l != null) return l.pending() > 0 ? Linux.POLLIN | Linux.POLLRDNORM : 0;
        TcpConnection c = so.connection();
        TcpState st = c.state();
        boolean closed = st == TcpState.CLOSED;
        boolean rcvShut = so.cantReceiveMore() || peerFinished(st) || closed && c.remote() != null;
        boolean sndShut = so.cantSendMore() || finQueued(st) || closed && c.remote() != null;
        int ev = 0;
        if (rcvShut && sndShut || closed) ev |= Linux.POLLHUP;
        if (rcvShut) ev |= Linux.POLLIN | Linux.POLLRDNORM | Linux.POLLRDHUP;
        if (st != TcpState.SYN_SENT && st != TcpState.SYN_RECEIVED) {
            if (c.readable() > 0) ev |= Linux.POLLIN | Linux.POLLRDNORM;
            if (sndShut || closed || hasWriteSpace(c)) ev |= Linux.POLLOUT | Linux.POLLWRNORM;
        }
        if (c.error() != 0) ev |= Linux.POLLERR;
        return ev;
    }

    private static boolean peerFinished(TcpState st) {
        return st == TcpState.CLOSE_WAIT || st == TcpState.LAST_ACK || st == TcpState.CLOSING || st == TcpState.TIME_WAIT;
    }

    private static boolean finQueued(TcpState st) {
        return st == TcpState.FIN_WAIT_1 || st == TcpState.FIN_WAIT_2 || st == TcpState.CLOSING || st == TcpState.LAST_ACK
                || st == TcpState.TIME_WAIT;
    }

    /** Linux's {@code sk_stream_is_writeable}: the free space is at least half of what is queued. */
    private static boolean hasWriteSpace(TcpConnection c) {
        int free = c.writable();
        int queued = Math.max(0, c.sendBuffer() - free);
        return free > 0 && free >= queued / 2;
    }

    /** New connections on a listener, state changes and received bytes on a connection: each an EPOLLET edge. */
    @Override long eventCount() {
        TcpListener l = so.listener();
        if (l != null) {
            int n = l.pending();
            if (n > lastPending) arrivals += n - lastPending;
            lastPending = n;
            return arrivals;
        }
        TcpConnection c = so.connection();
        TcpState st = c.state();
        if (st != lastState) {
            arrivals++;
            lastState = st;
        }
        return arrivals + c.info().bytesReceived();
    }

    @Override int takeError() {
        TcpConnection c = so.connection();
        int e = c == null ? 0 : c.takeErrno();
        return e == 0 ? 0 : Linux.errno(e);
    }

    // ---- connections ----

    @Override int bind(int address, int port) {
        if (so.listener() != null) return -Linux.EINVAL;
        try {
            so.bind(address, port);
            return 0;
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    @Override int listen(int backlog) {
        try {
            so.listen(backlog);
            return 0;
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    @Override Accepted accept() {
        if (so.listener() == null) return Accepted.error(Linux.EINVAL);
        try {
            TcpSocket a = so.tryAccept();
            if (a == null) return Accepted.error(Linux.EAGAIN);
            lastPending = Math.max(0, lastPending - 1);
            TcpEndpoint r = a.connection().remote();
            return new Accepted(0, new TcpShimSocket(this, a), r.ipv4(), r.port());
        } catch (SocketError e) {
            return Accepted.error(Linux.errno(e.errno()));
        }
    }

    /**
     * Starts the handshake and returns EINPROGRESS (the shim waits for POLLOUT or POLLERR when the socket blocks);
     * again while it runs, EALREADY; once connected, EISCONN; after a failed attempt, its error (as Linux's
     * {@code sock_error}) or ECONNABORTED. {@code AF_UNSPEC} (Linux's disconnect) is EOPNOTSUPP: a kextnet TCP
     * socket does not outlive its connection.
     */
    @Override int connect(int family, int address, int port) {
        if (so.listener() != null) return -Linux.EISCONN;
        if (family == Linux.AF_UNSPEC) return -Linux.EOPNOTSUPP;
        TcpConnection c = so.connection();
        switch (c.state()) {
            case SYN_SENT, SYN_RECEIVED -> { return -Linux.EALREADY; }
            case CLOSED -> {
                if (connectStarted) {
                    int e = c.takeErrno();
                    return e != 0 ? -Linux.errno(e) : -Linux.ECONNABORTED;
                }
            }
            default -> { return -Linux.EISCONN; }
        }
        connectStarted = true;
        try {
            so.connect(address, port);
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Linux.EINTR;
        }
        return c.state() == TcpState.ESTABLISHED ? 0 : -Linux.EINPROGRESS;
    }

    // ---- data ----

    /**
     * Takes what the send buffer has room for: MSG_OOB makes it urgent (the urgent pointer follows its last
     * byte); MSG_FASTOPEN and MSG_ZEROCOPY are EOPNOTSUPP; MSG_MORE and MSG_EOR are ignored (kextnet neither corks
     * nor keeps record boundaries). A destination address is ignored, as Linux does on a connected stream socket.
     */
    @Override int send(ByteBuffer src, int flags, int toAddress, int toPort) {
        if ((flags & (Linux.MSG_FASTOPEN | Linux.MSG_ZEROCOPY)) != 0) return -Linux.EOPNOTSUPP;
        TcpConnection c = so.connection();
        if (c == null) return -Linux.EPIPE; // a listener, as Linux's sk_stream_wait_connect
        if (!src.hasRemaining()) return 0;
        int n;
        try {
            n = (flags & Linux.MSG_OOB) != 0 ? c.writeUrgent(src) : so.write(src);
        } catch (TcpException e) {
            return -Linux.errno(e.errno());
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Linux.EINTR;
        }
        return n > 0 ? n : -Linux.EAGAIN;
    }

    /**
     * Reads what has arrived in order: 0 at the end of the stream, EAGAIN when nothing waits. MSG_OOB reads the
     * urgent byte (EINVAL when none waits or with SO_OOBINLINE, as Linux); MSG_TRUNC discards what it reads (Linux's
     * meaning on a stream); MSG_ERRQUEUE finds the error queue empty (EAGAIN); MSG_PEEK is EOPNOTSUPP.
     */
    @Override int receive(ByteBuffer dst, int flags, int[] meta) {
        TcpConnection c = so.connection();
        if (c == null) return -Linux.ENOTCONN; // a listener
        if ((flags & Linux.MSG_ERRQUEUE) != 0) return -Linux.EAGAIN;
        if ((flags & Linux.MSG_PEEK) != 0) return -Linux.EOPNOTSUPP;
        if ((flags & Linux.MSG_OOB) != 0) {
            int b = oobInline != 0 ? -1 : c.readOutOfBand();
            if (b < 0) return -Linux.EINVAL;
            if (!dst.hasRemaining()) return 0;
            dst.put((byte) b);
            return 1;
        }
        if (!dst.hasRemaining()) return 0;
        ByteBuffer into = dst;
        if ((flags & Linux.MSG_TRUNC) != 0) {
            if (discard == null || discard.capacity() < dst.remaining()) discard = ByteBuffer.allocate(dst.remaining());
            into = discard.clear().limit(dst.remaining());
        }
        int n;
        try {
            n = so.read(into);
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Linux.EINTR;
        }
        if (n < 0) return 0; // the end of the stream
        if (n == 0) return -Linux.EAGAIN;
        if (into != dst) dst.position(dst.position() + n);
        return n;
    }

    /**
     * {@code shutdown}: SHUT_WR sends a FIN after what is buffered; SHUT_RD discards what waits and what comes
     * (kextnet's, BSD's meaning: Linux keeps both readable).
     */
    @Override int shutdown(int how) {
        if (so.listener() != null) return -Linux.ENOTCONN;
        try {
            so.shutdown(how);
            return 0;
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    @Override void close() {
        try {
            if (lingerOn && lingerSeconds == 0) so.setLinger(true, 0); // close aborts: a RST
        } catch (SocketError e) {
            // closed already: nothing to abort
        }
        so.close();
    }

    // ---- ioctl ----

    /** {@code FIONREAD} (SIOCINQ): bytes to read; {@code SIOCOUTQ}: bytes in the send buffer; {@code SIOCATMARK}. */
    @Override int ioctl(long request, int[] arg) {
        TcpConnection c = so.connection();
        if (request == Linux.FIONREAD || request == Linux.SIOCOUTQ || request == Linux.SIOCATMARK) {
            if (c == null) return -Linux.EINVAL; // a listener, as Linux
            arg[0] = request == Linux.FIONREAD ? c.readable()
                    : request == Linux.SIOCOUTQ ? c.info().sendQueue() : c.atUrgentMark() ? 1 : 0;
            return 0;
        }
        return -Linux.ENOTTY;
    }

    // ---- options ----

    @Override int getOption(int level, int name, ByteBuffer out) {
        TcpConnection c = so.connection();
        if (level == Linux.SOL_SOCKET) {
            return switch (name) {
                case Linux.SO_REUSEADDR -> putInt(out, reuseAddress);
                case Linux.SO_REUSEPORT -> putInt(out, reusePort);
                case Linux.SO_KEEPALIVE -> putInt(out, keepAlive ? 1 : 0);
                case Linux.SO_OOBINLINE -> putInt(out, oobInline);
                case Linux.SO_ACCEPTCONN -> putInt(out, so.listener() != null ? 1 : 0);
                case Linux.SO_SNDBUF -> putInt(out, c != null ? c.sendBuffer() : kernel.tcpConfig().sendBuffer);
                case Linux.SO_RCVBUF -> {
                    int n = c != null ? c.receiveBuffer() : kernel.tcpConfig().receiveBuffer;
                    yield putInt(out, receiveBufferSet ? 2 * n : n);
                }
                case Linux.SO_LINGER -> {
                    if (out.remaining() < 8) yield -Linux.EINVAL;
                    out.putInt(out.position(), lingerOn ? 1 : 0).putInt(out.position() + 4, lingerSeconds);
                    yield 8;
                }
                case SO_MEMINFO -> memInfo(c, out);
                default -> -Linux.ENOPROTOOPT;
            };
        }
        if (level != Linux.IPPROTO_TCP) return -Linux.ENOPROTOOPT;
        return switch (name) {
            case Linux.TCP_NODELAY -> putInt(out, c != null && c.noDelay() ? 1 : 0);
            case Linux.TCP_MAXSEG -> putInt(out, c != null && c.state().isSynchronized() ? c.mss()
                    : maxSegment > 0 ? maxSegment : MSS_DEFAULT);
            case Linux.TCP_KEEPIDLE -> putInt(out, keepIdle != 0 ? keepIdle : seconds(kernel.tcpConfig().keepIdle));
            case Linux.TCP_KEEPINTVL -> putInt(out, keepInterval != 0 ? keepInterval : seconds(kernel.tcpConfig().keepInterval));
            case Linux.TCP_KEEPCNT -> putInt(out, keepCount != 0 ? keepCount : kernel.tcpConfig().keepCount);
            case Linux.TCP_USER_TIMEOUT -> putInt(out, userTimeoutMillis);
            case Linux.TCP_CONGESTION -> putString(out, c != null ? c.congestionControl() : kernel.tcpConfig().congestionControl);
            case Linux.TCP_INFO -> tcpInfo(out);
            case TCP_CC_INFO -> 0; // no algorithm-specific information, as Linux for CUBIC and Reno
            default -> -Linux.ENOPROTOOPT;
        };
    }

    @Override int setOption(int level, int name, ByteBuffer value) {
        TcpConnection c = so.connection();
        if (level == Linux.SOL_SOCKET && name == Linux.SO_LINGER) {
            if (value.remaining() < 8) return -Linux.EINVAL;
            lingerOn = value.getInt(value.position()) != 0;
            lingerSeconds = Math.max(0, value.getInt(value.position() + 4));
            return 0;
        }
        if (level == Linux.IPPROTO_TCP && name == Linux.TCP_CONGESTION) {
            byte[] b = new byte[value.remaining()];
            value.get(value.position(), b);
            int len = 0;
            while (len < b.length && b[len] != 0) len++;
            String cc = new String(b, 0, len, StandardCharsets.US_ASCII);
            if (cc.equals("reno")) cc = "newreno"; // Linux's reno recovers as NewReno does
            return kextnet(SocketConstants.IPPROTO_TCP, SocketConstants.TCP_CONGESTION, cc.getBytes(StandardCharsets.US_ASCII));
        }
        if (value.remaining() < 4) return -Linux.EINVAL;
        int v = value.getInt(value.position());
        if (level == Linux.SOL_SOCKET) {
            switch (name) {
                case Linux.SO_REUSEADDR -> reuseAddress = v != 0 ? 1 : 0;
                case Linux.SO_REUSEPORT -> reusePort = v != 0 ? 1 : 0;
                case Linux.SO_KEEPALIVE -> {
                    keepAlive = v != 0;
                    applyKeepalive(c);
                }
                case Linux.SO_OOBINLINE -> {
                    oobInline = v != 0 ? 1 : 0;
                    return kextnet(SocketConstants.SOL_SOCKET, SocketConstants.SO_OOBINLINE, oobInline);
                }
                case Linux.SO_SNDBUF -> { // Linux doubles the value (socket(7)), and about that much data fits
                    return kextnet(SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUF, Math.max(2 * Math.min(v, Integer.MAX_VALUE / 2), MIN_SNDBUF));
                }
                case Linux.SO_RCVBUF -> { // doubled too, but its window is about the value set: the buffer is that
                    int r = kextnet(SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, Math.max(v, MIN_RCVBUF / 2));
                    if (r == 0) receiveBufferSet = true;
                    return r;
                }
                default -> { return -Linux.ENOPROTOOPT; }
            }
            return 0;
        }
        if (level != Linux.IPPROTO_TCP) return -Linux.ENOPROTOOPT;
        switch (name) {
            case Linux.TCP_NODELAY -> { return kextnet(SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, v != 0 ? 1 : 0); }
            case Linux.TCP_MAXSEG -> {
                int r = kextnet(SocketConstants.IPPROTO_TCP, SocketConstants.TCP_MAXSEG, v);
                if (r == 0) maxSegment = v;
                return r;
            }
            case Linux.TCP_KEEPIDLE, Linux.TCP_KEEPINTVL -> {
                if (v < 1 || v > 32767) return -Linux.EINVAL; // Linux's MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL
                if (name == Linux.TCP_KEEPIDLE) keepIdle = v; else keepInterval = v;
                applyKeepalive(c);
            }
            case Linux.TCP_KEEPCNT -> {
                if (v < 1 || v > 127) return -Linux.EINVAL; // MAX_TCP_KEEPCNT
                keepCount = v;
                applyKeepalive(c);
            }
            case Linux.TCP_USER_TIMEOUT -> {
                if (v < 0) return -Linux.EINVAL;
                userTimeoutMillis = v;
                if (c != null) c.setUserTimeout(TimeUnit.MILLISECONDS.toNanos(v));
            }
            default -> { return -Linux.ENOPROTOOPT; }
        }
        return 0;
    }

    /** Keepalive as a whole: a connection takes the switch with its idle time, interval and count together. */
    private void applyKeepalive(TcpConnection c) {
        if (c != null) c.setKeepAlive(keepAlive, TimeUnit.SECONDS.toNanos(keepIdle), TimeUnit.SECONDS.toNanos(keepInterval), keepCount);
    }

    /** Sets a kextnet option through the socket (and its filters). @return 0 or a negative Linux errno */
    private int kextnet(int level, int name, int value) {
        try {
            so.setOption(level, name, value);
            return 0;
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    private int kextnet(int level, int name, byte[] value) {
        try {
            so.setOption(level, name, value);
            return 0;
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    /**
     * Linux's {@code struct tcp_info} (x86-64 layout), the fields kextnet has: state, the congestion state (Open,
     * or Recovery during any loss recovery), backoff, options, window scales, RTO, MSS, PMTU, RTT and variance,
     * ssthresh and cwnd in segments (Linux's unit), retransmissions, bytes received and sent, both windows. The
     * rest reads 0.
     */
    private int tcpInfo(ByteBuffer out) {
        TcpListener l = so.listener();
        TcpConnection c = so.connection();
        ByteBuffer b = ByteBuffer.allocate(TCP_INFO_LENGTH).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (l != null) {
            b.put(0, (byte) Linux.TCP_LISTEN);
        } else {
            TcpInfo i = c.info();
            int mss = Math.max(1, i.mss());
            b.put(0, (byte) linuxState(i.state()));
            b.put(1, (byte) (i.inRecovery() ? Linux.TCP_CA_RECOVERY : Linux.TCP_CA_OPEN));
            b.put(4, (byte) i.backoff());
            boolean wscale = i.sendScale() > 0 || i.receiveScale() > 0;
            b.put(5, (byte) ((i.timestamps() ? Linux.TCPI_OPT_TIMESTAMPS : 0) | (i.sack() ? Linux.TCPI_OPT_SACK : 0)
                    | (wscale ? Linux.TCPI_OPT_WSCALE : 0)));
            b.put(6, (byte) (i.sendScale() & 0xf | (i.receiveScale() & 0xf) << 4));
            b.putInt(8, micros(i.rto()));
            b.putInt(16, i.mss());
            b.putInt(60, c.pathMtu());
            b.putInt(68, micros(i.srtt()));
            b.putInt(72, micros(i.rttvar()));
            b.putInt(76, i.ssthresh() == Long.MAX_VALUE ? 0x7fffffff : (int) Math.min(0x7fffffff, i.ssthresh() / mss));
            b.putInt(80, (int) Math.min(0x7fffffff, i.cwnd() / mss));
            b.putInt(100, (int) i.retransmits());
            b.putLong(128, i.bytesReceived());
            b.putLong(200, i.bytesSent());
            b.putInt(228, (int) Math.min(0xffffffffL, i.sendWindow()));
            b.putInt(232, (int) Math.min(0xffffffffL, i.receiveWindow()));
        }
        int n = Math.min(out.remaining(), TCP_INFO_LENGTH);
        out.put(out.position(), b, 0, n);
        return n;
    }

    /** {@code SO_MEMINFO} as far as kextnet knows: the receive queue and buffer, the send queue and buffer. */
    private static int memInfo(TcpConnection c, ByteBuffer out) {
        int[] v = new int[MEMINFO_VARS];
        if (c != null) {
            TcpInfo i = c.info();
            v[0] = i.receiveQueue();
            v[1] = c.receiveBuffer();
            v[2] = i.sendQueue();
            v[3] = c.sendBuffer();
            v[5] = i.sendQueue();
        }
        int n = Math.min(out.remaining() / 4, MEMINFO_VARS);
        for (int k = 0; k < n; k++) out.putInt(out.position() + 4 * k, v[k]);
        return 4 * n;
    }

    static int linuxState(TcpState s) {
        return switch (s) {
            case ESTABLISHED -> Linux.TCP_ESTABLISHED;
            case SYN_SENT -> Linux.TCP_SYN_SENT;
            case SYN_RECEIVED -> Linux.TCP_SYN_RECV;
            case FIN_WAIT_1 -> Linux.TCP_FIN_WAIT1;
            case FIN_WAIT_2 -> Linux.TCP_FIN_WAIT2;
            case TIME_WAIT -> Linux.TCP_TIME_WAIT;
            case CLOSED -> Linux.TCP_CLOSE;
            case CLOSE_WAIT -> Linux.TCP_CLOSE_WAIT;
            case LAST_ACK -> Linux.TCP_LAST_ACK;
            case LISTEN -> Linux.TCP_LISTEN;
            case CLOSING -> Linux.TCP_CLOSING;
        };
    }

    private static int micros(long nanos) { return (int) Math.min(0x7fffffffL, nanos / 1000); }

    private static int seconds(long nanos) { return (int) TimeUnit.NANOSECONDS.toSeconds(nanos); }

    private static int putInt(ByteBuffer out, int v) { return UdpShimSocket.putInt(out, v); }

    /** A string option as Linux returns it: the bytes, then a NUL if it fits, cut to the caller's length. */
    private static int putString(ByteBuffer out, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        int n = Math.min(out.remaining(), b.length + 1);
        for (int i = 0; i < n; i++) out.put(out.position() + i, i < b.length ? b[i] : 0);
        return n;
    }

    @Override public String toString() { return so.toString(); }
}
