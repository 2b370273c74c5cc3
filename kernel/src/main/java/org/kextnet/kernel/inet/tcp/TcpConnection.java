package org.kextnet.kernel.inet.tcp;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.Timeout;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kpi.Errno;

/**
 * One TCP connection (the TCB of RFC 9293 3.3.1; BSD's {@code tcpcb}): its state machine, its send and
 * receive buffers, its timers, loss recovery and congestion control. Made by {@link TcpStack#open} (active)
 * or by a {@link TcpListener} (passive).
 *
 * <h2>What implements what</h2>
 * <ul>
 * <li>RFC 9293 3.10 event processing: {@link #connect}, {@link #write}, {@link #read}, {@link #close},
 *     {@link #abort} (the user calls), {@code segmentArrives} (SEGMENT ARRIVES, every state), the timeouts.</li>
 * <li>RFC 5961: exact-match RST, challenge ACKs for in-window RST and SYN, ACK validation, all rate limited
 *     ({@link TcpConfig#challengeAckLimit}).</li>
 * <li>RFC 7323: window scaling, timestamps, PAWS (before the sequence check, 5.3), TS.Recent (4.3).</li>
 * <li>RFC 2018, 2883: SACK blocks sent from the {@link ReceiveBuffer}, D-SACK for duplicates; received SACK
 *     marks the {@link Scoreboard}.</li>
 * <li>RFC 6675 loss recovery: the pipe, NextSeg's first rule, RecoveryPoint; loss detection by RACK
 *     (RFC 8985, default) or by DupThresh (RFC 6675 IsLost); RFC 6582 NewReno when the peer has no SACK.</li>
 * <li>RFC 8985 TLP; RFC 6298 RTO with Karn's rule and backoff; persist timer and window probes (3.8.6.1);
 *     keepalive (3.8.4); delayed ACK (3.8.6.3); Nagle (3.7.4) and sender SWS avoidance; receiver SWS
 *     avoidance (3.8.6.2.2); urgent data (3.8.5, RFC 6093); PMTU (RFC 1191, 5927) from {@link TcpStack}.</li>
 * </ul>
 *
 * <h2>Locking and upcalls</h2>
 * One lock per connection, the monitor of {@code lock}, guards all of its state; segment processing, timers and user
 * calls take it. A monitor rather than a {@code ReentrantLock}: the packet thread and the application's reader or
 * writer contend for it every few segments, and a contended {@code ReentrantLock} allocates a queue node each time, a
 * monitor nothing on the heap. Nothing is called out while it is held: segments built under it wait in a transmit list,
 * events in a bit set, and after the lock is released the calling thread {@linkplain #drain() drains} them: it hands
 * the segments to the network and calls the {@link TcpUpcall}. One thread drains a connection at a time (the others
 * leave their work to it), so the network sees segments in the order they were built and the upcall sees events in
 * order and never concurrently. An upcall may therefore call back into the connection. Lock order: a connection's lock
 * may be held while taking its listener's, never the reverse.
 *
 * <h2>Buffers</h2>
 * The send and receive buffers are the connection's own rings ({@link ByteRing}, {@link ReceiveBuffer});
 * received packet buffers are copied into the receive ring and freed, segments are copied out of the send
 * ring into packet buffers that the network layer then owns. The user's buffers are only read or written
 * during the call.
 */
public final class TcpConnection {
    private static final long NONE = Long.MAX_VALUE;
    private static final long SECOND = 1_000_000_000L;
    /** RFC 7323 5.5: TS.Recent is invalid after 24 days of idleness. */
    private static final long PAWS_IDLE = 24L * 24 * 3600 * SECOND;
    private static final int RTX_RTO = 1, RTX_TLP = 2, RTX_REORDER = 3, RTX_PERSIST = 4;
    private static final int IDLE_KEEPALIVE = 1, IDLE_FIN_WAIT_2 = 2, IDLE_TIME_WAIT = 3;
    private static final long PERSIST_MIN = 200_000_000L, PERSIST_MAX = 60 * SECOND;

    final TcpStack stack;
    private final TcpConfig cfg;
    /** The connection's lock (its monitor): see Locking above. */
    final Object lock = new Object();
    private volatile TcpUpcall upcall;
    private final TcpSocketOptions options;
    /** The listener of a passive connection until it is accepted (or dies). */
    TcpListener listener;
    private boolean passive, embryonic, accepted;

    // ---- identity: fixed once connected (or created by a listener) ----
    long localHigh, localLow, remoteHigh, remoteLow;
    int localPort, remotePort;
    /** Whether the connection is in the stack's table; {@link #bound}: holds a reference on its local port. */
    boolean inTable, bound;
    /** Its key in the stack's table. */
    TcpStack.Key key;
    /** An ISN this connection's must exceed (it reuses a TIME-WAIT 4-tuple), or 0. */
    int isnFloor;
    private boolean checksumOffload;
    /**
     * Segmentation offload: the largest network packet the route's device cuts into segments itself, 0 if it does
     * not ({@link TcpNetwork#segmentOffload}). New data then leaves in super-segments of many MSS.
     */
    private int tsoMax;

    private volatile TcpState state = TcpState.CLOSED;

    // ---- send sequence variables (RFC 9293 3.3.1) ----
    private int iss, sndUna, sndNxt, sndWl1, sndWl2, sndUp;
    private long sndWnd, maxSndWnd;
    /** The sequence number of the send buffer's first byte. */
    private int sndBufSeq;
    private boolean urgentMode;
    private boolean finQueued, finSent;
    private int finSeq;
    /** The SYN (or SYN-ACK) was retransmitted: no RTT sample from it, and RFC 6298 5.7 applies. */
    private boolean synRetransmitted;
    private long synSentTime;
    private int synRetries;

    // ---- receive sequence variables ----
    private int irs, rcvNxt, rcvAdv, lastAckSent;
    private boolean finReceived;
    private boolean rcvFinPending;
    private int rcvFinSeq;
    /** Largest segment payload seen (RCV.MSS estimate for delayed ACKs). */
    private int rcvMss;
    private int rcvUnackedBytes;

    // ---- negotiated options ----
    private int sndScale, rcvScale;
    private boolean tsOk, sackOk, wsOk;
    private int tsRecent, tsOffset;
    private long tsRecentTime;
    private boolean tsRecentValid;
    private int peerMss;
    /** Largest TCP payload plus options per segment (from the peer's MSS and the path MTU); {@link #mss}: payload with our fixed options. */
    private int mssBase, mss;
    /** The MSS we announce. */
    private int advMss;
    private int pathMtu;

    // ---- RTT (RFC 6298) ----
    private final RttEstimator rtt;
    /** RTT seen by the receiver through timestamps, for auto-tuning. */
    private long rcvRtt;

    // ---- congestion control and recovery ----
    private CongestionControl cc;
    private final Scoreboard sb = new Scoreboard();
    /** The delivery-rate sample of the ACK being processed, refilled on each. */
    private final RateSample rateSample = new RateSample();
    /** Spaces segments when the controller gives a pacing rate (BBR); idle otherwise. */
    private final Pacer pacer;
    private boolean fastRecovery, rtoRecovery;
    private int recoveryPoint;
    private int dupAcks;
    /** Bytes duplicate ACKs say have left the network, for peers without SACK (Linux's reno sacked_out). */
    private long renoSacked;
    private boolean cwndLimited;
    /**
     * The pipe was at least half of cwnd ({@link #cwndFlight} bytes) when the data before this sequence number
     * had been sent: the ACKs of that data may grow cwnd for as long as the flight is still at least half of it
     * (RFC 7661 4.3: pipeACK at least cwnd/2 validates cwnd), even if the application had nothing more to send.
     * Valid once {@link #cwndFilled}.
     */
    private int cwndFullEnd;
    private long cwndFlight;
    private boolean cwndFilled;
    private boolean forceRetransmit;
    private long lastSendTime;
    /** The last transmit stamp: stamps are strictly increasing, so RACK orders sends made within one clock tick. */
    private long xmitClock;
    private long retransmits;
    /** RFC 3708 D-SACK undo: retransmissions of this congestion episode not yet D-SACKed back, from undoMarker on. */
    private boolean undoPossible;
    private int undoRetrans, undoMarker;

    // ---- RACK (RFC 8985) and TLP ----
    private long rackXmit = -1, rackRtt;
    private int rackEnd;
    private int rackReoWndMult = 1, rackReoWndPersist;
    private boolean rackDsackRoundValid, rackReordering;
    private int rackDsackRound;
    private boolean tlpOutstanding, tlpIsRetrans, tlpDsacked;
    private int tlpEnd;

    // ---- buffers ----
    private final ByteRing snd;
    private final ReceiveBuffer rcv;
    /** Received data the socket filters have let in, read before the ring (data interception). */
    private final ByteRing filtered;
    private boolean intercept;
    private boolean userRcvBuf, userSndBuf;
    private boolean writeWanted;

    // ---- ACK state ----
    private boolean ackNow;
    private boolean dsackPending;
    private int dsackStart, dsackEnd;
    private final int[] sackOut = new int[2 * Tcp.MAX_SACK_BLOCKS];

    // ---- timers: three per connection, made once and re-armed lazily ----
    private final Timeout rtxTimer, dackTimer, idleTimer;
    private int rtxKind;
    private long rtxDeadline = NONE, rtxWheelAt = NONE;
    private int idleKind;
    private long idleDeadline = NONE, idleWheelAt = NONE;
    private boolean dackArmed;
    private int persistBackoff, persistUnanswered;
    private boolean probeOutstanding;
    private int keepProbes;
    private long lastRecvTime;
    private long firstUnackedTime;

    // ---- user state ----
    private boolean userClosed, readShut;
    private int error, softError;
    private long challengeWindowStart = Long.MIN_VALUE / 2, lastOowAck = Long.MIN_VALUE / 2;
    private int challengeCount;
    private long bytesSent, bytesReceived, bytesAcked;
    private long autotuneTime;
    private int autotuneCopied;

    // ---- work for the drainer ----
    private Packet txHead, txTail;
    private int pendingEvents;
    private boolean draining;
    /**
     * An end (FIN, error, close) posted but not yet told to the upcall. While data is intercepted, reads see
     * the end only after the filters heard it, as in xnu, where socantrcvmore notifies before it wakes the reader.
     */
    private boolean endUnheard;
    private TcpListener notifyListener;

    /** The option parser's holder; used under the lock. */
    private final Tcp.Options opts = new Tcp.Options();

    TcpConnection(TcpStack stack, TcpSocketOptions options, TcpUpcall upcall) {
        this.stack = stack;
        this.cfg = stack.config();
        this.options = options;
        this.upcall = upcall;
        int sb = options.sendBuffer > 0 ? options.sendBuffer : cfg.sendBuffer;
        this.snd = new ByteRing(Math.min(sb, cfg.sendBufferMax));
        this.userSndBuf = options.sendBuffer > 0;
        this.userRcvBuf = options.receiveBuffer > 0;
        this.rcv = new ReceiveBuffer(userRcvBuf ? options.receiveBuffer : cfg.receiveBuffer, cfg.maxReassemblyRanges);
        this.rcv.setPullOutOfBand(!options.oobInline);
        this.filtered = new ByteRing(rcv.capacity());
        this.rtt = new RttEstimator(cfg, stack.wheel().tickNanos());
        this.rtxTimer = new Timeout((t, now) -> timer(t));
        this.dackTimer = new Timeout((t, now) -> timer(t));
        this.idleTimer = new Timeout((t, now) -> timer(t));
        this.pacer = new Pacer(stack.wheel(), (t, now) -> timer(t));
    }

    // =====================================================================================================
    // The user's side
    // =====================================================================================================

    public TcpState state() { return state; }

    /** The upcall the connection reports to. */
    TcpUpcall upcall() { return upcall; }

    /** Replaces the upcall (the socket layer installs its own on an accepted connection). */
    public void setUpcall(TcpUpcall u) { this.upcall = u; }

    /** The local end, or null before bind or connect. */
    public TcpEndpoint local() {
        synchronized (lock) {
            return localPort == 0 ? null : new TcpEndpoint(localHigh, localLow, localPort);
        }
    }

    /** The peer, or null before connect. */
    public TcpEndpoint remote() {
        synchronized (lock) {
            return remotePort == 0 ? null : new TcpEndpoint(remoteHigh, remoteLow, remotePort);
        }
    }

    /**
     * Binds the local end before {@link #connect}: an address of this host (or the wildcard) and a port (0 for
     * an ephemeral one).
     * @throws TcpException EINVAL (already bound or connected), EADDRNOTAVAIL, EADDRINUSE
     */
    public void bind(TcpEndpoint local) throws TcpException {
        synchronized (lock) {
            if (state != TcpState.CLOSED || localPort != 0 || userClosed) throw new TcpException(Errno.EINVAL, "already bound");
            stack.bindConnection(this, local);
        }
    }

    /**
     * Active open (RFC 9293 3.10.1, OPEN call in CLOSED state): sends a SYN and returns at once; the upcall
     * reports {@link TcpUpcall#CONNECTED} or an {@link TcpUpcall#ERROR} (ECONNREFUSED, ETIMEDOUT,
     * EHOSTUNREACH) later.
     * @throws TcpException EISCONN, EALREADY, EINVAL (closed), ENETUNREACH (no route), EADDRINUSE (no port)
     */
    public void connect(TcpEndpoint remote) throws TcpException {
        if (remote.port() == 0 || remote.isWildcard()) throw new TcpException(Errno.EINVAL, "connect to " + remote);
        synchronized (lock) {
            switch (state) {
                case CLOSED -> { }
                case SYN_SENT, SYN_RECEIVED -> throw new TcpException(Errno.EALREADY, "connecting");
                default -> throw new TcpException(Errno.EISCONN, "connected");
            }
            if (userClosed || remotePort != 0) throw new TcpException(Errno.EINVAL, "closed");
            stack.connectConnection(this, remote.high(), remote.low(), remote.port());
            long now = stack.now();
            checksumOffload = stack.network().checksumOffload(remoteHigh, remoteLow);
            iss = stack.isn(this);
            if (isnFloor != 0 && Seq.lt(iss, isnFloor)) iss = isnFloor;
            tsOffset = stack.tsOffset(this);
            setupMss(0);
            chooseReceiveScale();
            sndUna = iss;
            sndNxt = iss + 1;
            sndBufSeq = iss + 1;
            sndUp = iss;
            state = TcpState.SYN_SENT;
            stack.count(Stat.TCP_CONN_ATTEMPTS);
            post(TcpUpcall.CONNECTING);
            sendSyn(now, false);
            armRtx(RTX_RTO, now + currentRto());
        }
        drain();
    }

    /**
     * Copies as much of {@code src} as the send buffer takes (RFC 9293 SEND), moving its position; sends what
     * the windows allow. Data written before the handshake completes waits for it.
     * @return bytes taken: 0 when the buffer is full (the upcall reports {@link TcpUpcall#WRITABLE} later)
     * @throws TcpException EPIPE (sending was shut down or the connection closed), ENOTCONN, or the
     *         connection's pending error (ECONNRESET, ETIMEDOUT), reported once
     */
    public int write(ByteBuffer src) throws TcpException {
        return write(src, false);
    }

    /** {@link #write(ByteBuffer)} with the data urgent ({@code MSG_OOB}): the urgent pointer follows its last byte. */
    public int writeUrgent(ByteBuffer src) throws TcpException {
        return write(src, true);
    }

    private int write(ByteBuffer src, boolean urgent) throws TcpException {
        int n;
        synchronized (lock) {
            checkWritable();
            n = src.hasArray() ? snd.write(src.array(), src.arrayOffset() + src.position(), src.remaining())
                    : snd.write(MemorySegment.ofBuffer(src), 0, src.remaining());
            src.position(src.position() + n);
            // A short write, or a probe of a full buffer (the filtered path asks with an empty one), wants WRITABLE.
            if (src.hasRemaining() || snd.space() == 0) writeWanted = true;
            if (urgent && n > 0) {
                sndUp = sndBufSeq + snd.length();
                urgentMode = true;
            }
            if (state.isSynchronized()) output(stack.now());
        }
        drain();
        return n;
    }

    /**
     * Takes all of {@code data} into the send buffer, beyond its size if need be, and frees it: for data that
     * has been through the socket filters ({@code sf_data_out}) or that a filter re-injects. Always takes
     * ownership of {@code data}.
     * @return 0, or EPIPE / ENOTCONN / the pending error (the data is freed all the same)
     */
    public int write(Packet data) {
        int r = 0;
        try {
            synchronized (lock) {
                checkWritable();
                for (Packet b = data; b != null; b = b.next()) snd.writeAll(b.segment(), b.offset(), b.length());
                if (state.isSynchronized()) output(stack.now());
            }
        } catch (TcpException e) {
            r = e.errno();
        } finally {
            data.free();
        }
        drain();
        return r;
    }

    private void checkWritable() throws TcpException {
        if (error != 0) throw takeError();
        if (finQueued || userClosed) throw new TcpException(Errno.EPIPE, "sending was shut down");
        switch (state) {
            case SYN_SENT, SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT -> { }
            case CLOSED -> throw new TcpException(remotePort == 0 ? Errno.ENOTCONN : Errno.EPIPE, "not connected");
            default -> throw new TcpException(Errno.EPIPE, "sending was shut down");
        }
    }

    private TcpException takeError() {
        int e = error;
        error = 0;
        return new TcpException(e, "connection to " + TcpEndpoint.formatAddress(remoteHigh, remoteLow) + ":" + remotePort);
    }

    /**
     * Copies received data into {@code dst} (RFC 9293 RECEIVE), moving its position; stops before the urgent
     * mark. Opens the window (and tells the peer when that matters).
     * @return bytes read; 0 if none is waiting yet; -1 at the end of the stream (the peer's FIN, or after a
     *         reported error)
     * @throws TcpException the pending error (ECONNRESET, ETIMEDOUT, ECONNREFUSED...), once, after the data
     *         received before it was read
     */
    public int read(ByteBuffer dst) throws TcpException {
        int n = 0;
        try {
            synchronized (lock) {
                // a heap buffer is copied into as an array: nothing is allocated per call
                Object d = dst.hasArray() ? dst.array() : MemorySegment.ofBuffer(dst);
                long base = dst.hasArray() ? dst.arrayOffset() + dst.position() : 0;
                int want = dst.remaining();
                if (filtered.length() > 0) {
                    n = Math.min(want, filtered.length());
                    filtered.copyOut(0, d, base, n);
                    filtered.consume(n);
                }
                if (!intercept && n < want) n += rcv.read(d, base + n, want - n);
                dst.position(dst.position() + n);
                if (n > 0) {
                    autotuneCopied += n;
                    long now = stack.now();
                    autotune(now);
                    if (state.isSynchronized() && state != TcpState.TIME_WAIT && windowUpdateWorthSending()) {
                        ackNow = true;
                        stack.count(Stat.TCP_SND_WINDOW_UPDATES);
                        output(now);
                    }
                    return n;
                }
                if (intercept && (rcv.readable() > 0 || endUnheard)) return 0; // still on its way through the filters
                if (error != 0) throw takeError();
                if (state == TcpState.CLOSED && remotePort == 0) throw new TcpException(Errno.ENOTCONN, "not connected");
                if (finReceived || readShut || state == TcpState.CLOSED) return -1;
                return 0;
            }
        } finally {
            if (n > 0) drain(); // after the lock: it hands out segments and events
        }
    }

    /** Bytes that {@link #read} would return now. */
    public int readable() {
        synchronized (lock) {
            return filtered.length() + (intercept ? 0 : rcv.readable());
        }
    }

    /** Whether a read would not return 0: data, end of stream or an error waits (a selector's OP_READ). */
    public boolean isReadable() {
        synchronized (lock) {
            if (filtered.length() > 0 || (!intercept && rcv.readable() > 0)) return true;
            if (intercept && (rcv.readable() > 0 || endUnheard)) return false;
            return finReceived || error != 0 || readShut || (state == TcpState.CLOSED && remotePort != 0);
        }
    }

    /** Bytes a write would take now. */
    public int writable() {
        synchronized (lock) {
            return state == TcpState.CLOSED || finQueued ? 0 : snd.space();
        }
    }

    /** Whether a write would not return 0 (a selector's OP_WRITE): space, or an error to report. */
    public boolean isWritable() {
        synchronized (lock) {
            return (state.isSynchronized() && snd.space() > 0) || error != 0 || finQueued
                    || (state == TcpState.CLOSED && remotePort != 0);
        }
    }

    /** Whether the handshake completed (a selector's OP_CONNECT), or failed. */
    public boolean isConnectFinished() {
        TcpState s = state;
        return s != TcpState.SYN_SENT && s != TcpState.SYN_RECEIVED;
    }

    /** The pending error (so_error) without clearing it; 0 if none. */
    public int error() { return error; }

    /** Takes and clears the pending error ({@code getsockopt(SO_ERROR)}). */
    public int takeErrno() {
        synchronized (lock) {
            int e = error;
            error = 0;
            return e;
        }
    }

    /** Whether the next byte to read is the urgent mark ({@code SIOCATMARK}). */
    public boolean atUrgentMark() {
        synchronized (lock) {
            return !intercept && rcv.atMark();
        }
    }

    /** The urgent byte taken out of the stream ({@code recv(MSG_OOB)}), or -1 if none waits; not with SO_OOBINLINE. */
    public int readOutOfBand() {
        synchronized (lock) {
            return rcv.takeOutOfBand();
        }
    }

    /**
     * Closes the sending direction ({@code shutdown(SHUT_WR)}): a FIN follows what is buffered (RFC 9293 CLOSE
     * on the sending side); reading goes on.
     */
    public void shutdownOutput() {
        synchronized (lock) {
            queueFin();
        }
        drain();
    }

    private void queueFin() {
        if (finQueued) return;
        switch (state) {
            case SYN_SENT, SYN_RECEIVED -> finQueued = true; // sent after the handshake (FIN-WAIT-1 then)
            case ESTABLISHED -> { finQueued = true; state = TcpState.FIN_WAIT_1; }
            case CLOSE_WAIT -> { finQueued = true; state = TcpState.LAST_ACK; }
            default -> { return; }
        }
        if (state.isSynchronized()) output(stack.now());
    }

    /**
     * Closes the receiving direction ({@code shutdown(SHUT_RD)}): what waits is discarded, and data that
     * arrives later is acknowledged and dropped (BSD's behaviour).
     */
    public void shutdownInput() {
        synchronized (lock) {
            readShut = true;
            discardReceived();
        }
        drain();
    }

    private void discardReceived() {
        boolean any = rcv.readable() > 0 || filtered.length() > 0;
        rcv.discard();
        filtered.consume(filtered.length());
        if (any && state.isSynchronized() && windowUpdateWorthSending()) { // nothing discarded: no news for the peer
            ackNow = true;
            output(stack.now());
        }
    }

    /**
     * Closes the connection (RFC 9293 CLOSE): the user is done with it. Buffered data is still sent, then a
     * FIN; the connection lives on in the stack until the close completes (the upcall sees
     * {@link TcpUpcall#RELEASED}). If received data was never read, the peer is reset instead (RFC 2525
     * 2.17), as BSD and Linux do, so it learns that data was lost. Data that arrives after the close also
     * gets a reset.
     */
    public void close() {
        synchronized (lock) {
            if (userClosed) return;
            userClosed = true;
            readShut = true;
            boolean unread = filtered.length() > 0 || rcv.readable() > 0;
            switch (state) {
                case CLOSED -> release();
                case SYN_SENT -> enterClosed(0);
                case SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT -> {
                    post(TcpUpcall.DISCONNECTING);
                    if (unread && state != TcpState.SYN_RECEIVED) {
                        sendReset(stack.now());
                        stack.count(Stat.TCP_DROPS);
                        enterClosed(0);
                    } else {
                        queueFin();
                    }
                }
                default -> {
                    post(TcpUpcall.DISCONNECTING);
                    if (state == TcpState.FIN_WAIT_2) armIdle(IDLE_FIN_WAIT_2, stack.now() + cfg.finWait2Timeout);
                }
            }
            rcv.release();
            filtered.release();
        }
        drain();
    }

    /**
     * Aborts the connection (RFC 9293 ABORT; {@code SO_LINGER} with a zero timeout): a reset to the peer in a
     * synchronized state, then CLOSED at once; buffered data is dropped.
     */
    public void abort() {
        synchronized (lock) {
            userClosed = true;
            readShut = true;
            if (state.isSynchronized() && state != TcpState.TIME_WAIT || state == TcpState.SYN_RECEIVED) {
                sendReset(stack.now());
                stack.count(Stat.TCP_DROPS);
            }
            if (state != TcpState.CLOSED) enterClosed(0);
            else release();
            rcv.release();
            filtered.release();
        }
        drain();
    }

    // ---- options ----

    /** TCP_NODELAY. */
    public void setNoDelay(boolean on) {
        synchronized (lock) {
            options.noDelay = on;
            if (on && state.isSynchronized()) output(stack.now());
        }
        drain();
    }

    public boolean noDelay() { return options.noDelay; }

    /** SO_KEEPALIVE, with the idle time, interval and count of probes (0 for the system's). */
    public void setKeepAlive(boolean on, long idle, long interval, int count) {
        synchronized (lock) {
            options.keepAlive = on;
            options.keepIdle = idle;
            options.keepInterval = interval;
            options.keepCount = count;
            if (on && state.isSynchronized()) armKeepalive(stack.now());
        }
    }

    /** SO_SNDBUF, in bytes (capped by {@link TcpConfig#sendBufferMax}). */
    public void setSendBuffer(int bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("send buffer " + bytes);
        synchronized (lock) {
            options.sendBuffer = bytes;
            userSndBuf = true;
            snd.setLimit(Math.min(bytes, cfg.sendBufferMax));
        }
    }

    public int sendBuffer() { return snd.limit(); }

    /**
     * SO_RCVBUF, in bytes: turns auto-tuning off. Before the handshake it sets the buffer, smaller than the
     * default too, and the window scale; after it the buffer only grows (a window once offered is not taken
     * back, RFC 9293 3.8.6.2.2).
     */
    public void setReceiveBuffer(int bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("receive buffer " + bytes);
        synchronized (lock) {
            options.receiveBuffer = bytes;
            userRcvBuf = true;
            // no window offered yet (no SYN sent): the buffer may shrink too
            if (state != TcpState.CLOSED || !rcv.setCapacityIfUnused(bytes + scaleSlack())) rcv.grow(bytes + scaleSlack());
            filtered.setLimit(bytes);
        }
    }

    public int receiveBuffer() { return rcv.capacity() - scaleSlack(); }

    /** SO_OOBINLINE. */
    public void setOobInline(boolean on) {
        synchronized (lock) {
            options.oobInline = on;
            rcv.setPullOutOfBand(!on);
        }
    }

    /** TCP_CONGESTION: the controller for this connection; before the handshake, or at any time (it starts afresh). */
    public void setCongestionControl(String name) {
        CongestionControl c = CongestionControl.create(name);
        synchronized (lock) {
            options.congestionControl = name;
            if (cc != null) {
                c.init(cc.cwnd(), mss, stack.now());
                cc = c;
            }
        }
    }

    /** The controller itself, for tests; null before the handshake completes. Under the lock's discipline: read, do not drive. */
    CongestionControl congestion() { return cc; }

    public String congestionControl() {
        CongestionControl c = cc;
        return c != null ? c.name() : options.congestionControl != null ? options.congestionControl : cfg.congestionControl;
    }

    /** TCP_MAXSEG, before connect. */
    public void setMaxSegment(int bytes) { options.maxSegment = bytes; }

    /** TCP_USER_TIMEOUT in ns (RFC 5482): 0 to let the retry count decide. */
    public void setUserTimeout(long nanos) { options.userTimeout = nanos; }

    /**
     * Turns data interception on or off ({@code sf_data_in}): while on, in-order data goes to
     * {@link TcpUpcall#dataIn} before it becomes readable. Data already readable stays first in line.
     */
    public void setDataInterception(boolean on) {
        synchronized (lock) {
            if (on == intercept) return;
            if (on) { // what the reader could already see stays ahead of everything filtered
                int n = rcv.readable();
                if (n > 0) {
                    byte[] tmp = new byte[n];
                    rcv.read(tmp, 0, n);
                    filtered.writeAll(tmp, 0, n);
                }
            }
            intercept = on;
        }
        drain();
    }

    /**
     * Appends data a socket filter re-injects ({@code sock_inject_data_in}) to what the user reads. Takes
     * ownership only when it returns 0.
     * @return 0, ENOTCONN (reading was shut down or the connection is gone), ENOBUFS (over twice the buffer size)
     */
    public int appendReceived(Packet data) {
        synchronized (lock) {
            if (readShut || userClosed) return Errno.ENOTCONN;
            if (filtered.length() + data.packetLength() > 2 * Math.max(filtered.limit(), rcv.capacity())) return Errno.ENOBUFS;
            for (Packet b = data; b != null; b = b.next()) filtered.writeAll(b.segment(), b.offset(), b.length());
            post(TcpUpcall.READABLE);
        }
        data.free();
        drain();
        return 0;
    }

    /** A snapshot for listings. */
    public TcpInfo info() {
        synchronized (lock) {
            return new TcpInfo(state, localPort == 0 ? null : new TcpEndpoint(localHigh, localLow, localPort),
                    remotePort == 0 ? null : new TcpEndpoint(remoteHigh, remoteLow, remotePort), snd.length(),
                    filtered.length() + rcv.readable(), rtt.srtt(), rtt.rttvar(), currentRto(), rtt.backoff(),
                    cc != null ? cc.cwnd() : 0, cc != null ? cc.ssthresh() : Long.MAX_VALUE, sndWnd,
                    state.isSynchronized() ? Integer.toUnsignedLong(rcvAdv - rcvNxt) : 0, mss, sb.pipe(),
                    retransmits, bytesSent, bytesReceived, congestionControl(), sackOk, tsOk, sndScale, rcvScale,
                    fastRecovery || rtoRecovery);
        }
    }

    @Override public String toString() {
        return "tcp " + TcpEndpoint.formatAddress(localHigh, localLow) + ":" + localPort + " "
                + TcpEndpoint.formatAddress(remoteHigh, remoteLow) + ":" + remotePort + " " + state;
    }

    // =====================================================================================================
    // Opening
    // =====================================================================================================

    /** Our MSS from the route and the option (RFC 9293 3.7.1, RFC 6691); {@code peerOption} 0 if not yet known. */
    private void setupMss(int peerOption) {
        int nh = TcpEndpoint.networkHeader(remoteHigh, remoteLow);
        int mtu = stack.network().routeMtu(remoteHigh, remoteLow);
        if (mtu <= 0) mtu = nh == 20 ? 576 : 1280;
        pathMtu = mtu;
        tsoMax = stack.network().segmentOffload(remoteHigh, remoteLow);
        advMss = Math.max(64, mtu - nh - Tcp.MIN_HEADER);
        if (options.maxSegment > 0) advMss = Math.min(advMss, options.maxSegment);
        advMss = Math.min(advMss, 65535);
        peerMss = peerOption > 0 ? peerOption : (nh == 20 ? 536 : 1220); // RFC 9293 3.7.1 default (MUST-15)
        recomputeMss();
    }

    private void recomputeMss() {
        int nh = TcpEndpoint.networkHeader(remoteHigh, remoteLow);
        // SendMSS + 20 bounded by the path's MMS_S, less the TCP header (RFC 9293 3.7.1, MUST-16)
        int m = Math.min(peerMss, pathMtu - nh - Tcp.MIN_HEADER);
        if (options.maxSegment > 0) m = Math.min(m, options.maxSegment);
        mssBase = Math.max(64, m);
        int oldMss = mss;
        mss = mssBase - (tsOk ? 12 : 0);
        if (cc != null && oldMss != mss) cc.setMss(mss);
    }

    /** RFC 7323 2.3: the shift our window needs to reach the largest receive buffer. */
    private void chooseReceiveScale() {
        rcvScale = receiveScale(cfg, options);
        int want = receiveBufferBase(cfg, options) + scaleSlack();
        // SO_RCVBUF below the default, set before the handshake: nothing was received, the buffer may shrink
        if (!userRcvBuf || !rcv.setCapacityIfUnused(want)) rcv.grow(Math.max(rcv.capacity(), want));
    }

    /** The window scale a connection with these options announces (a SYN cookie's SYN-ACK computes it too). */
    static int receiveScale(TcpConfig cfg, TcpSocketOptions o) {
        int s = 0;
        if (cfg.windowScaling) {
            long max = o.receiveBuffer > 0 ? o.receiveBuffer : Math.max(cfg.receiveBufferMax, cfg.receiveBuffer);
            while (s < Tcp.MAX_WSCALE && (max >> s) > 65535) s++;
        }
        return s;
    }

    /** The receive buffer a connection with these options starts with. */
    static int receiveBufferBase(TcpConfig cfg, TcpSocketOptions o) {
        return o.receiveBuffer > 0 ? o.receiveBuffer : cfg.receiveBuffer;
    }

    /** The ring is larger than the buffer by one window unit, so that rounding a scaled window up never overruns it. */
    private int scaleSlack() { return (1 << rcvScale) - 1; }

    /** A SYN for a listener made this connection: SYN-RECEIVED, SYN-ACK. Does not take ownership of {@code m}. */
    void openFromSyn(TcpListener l, Packet m, Tcp.Options o, int isnFloor) {
        synchronized (lock) {
            passiveOpen(l, m, o, isnFloor);
        }
        drain();
    }

    /** A valid SYN cookie's ACK made this connection; the ACK ({@code m}, owned from here on) completes it. */
    void openFromCookie(TcpListener l, Packet m, int irs, int iss, int peerMss, int sndScale, boolean sack, boolean ts, int tsVal) {
        synchronized (lock) {
            cookieOpen(l, irs, iss, peerMss, sndScale, sack, ts, tsVal);
            segmentArrives(m, stack.now());
        }
        drain();
    }

    /** Passive open: a SYN for a listener (RFC 9293 3.10.7.2, LISTEN state, third check). Under the lock. */
    private void passiveOpen(TcpListener l, Packet m, Tcp.Options o, int isnFloor) {
        long now = stack.now();
        MemorySegment s = m.segment();
        long off = m.offset();
        listener = l;
        passive = true;
        embryonic = true;
        checksumOffload = stack.network().checksumOffload(remoteHigh, remoteLow);
        irs = Tcp.seq(s, off);
        rcvNxt = irs + 1;
        iss = stack.isn(this);
        if (isnFloor != 0 && Seq.lt(iss, isnFloor)) iss = isnFloor;
        tsOffset = stack.tsOffset(this);
        negotiate(o, Tcp.window(s, off), now);
        rcv.init(rcvNxt);
        rcvAdv = rcvNxt + synWindow();
        sndUna = iss;
        sndNxt = iss + 1;
        sndBufSeq = iss + 1;
        sndUp = iss;
        sndWl1 = irs;
        sndWl2 = iss;
        lastRecvTime = now;
        state = TcpState.SYN_RECEIVED;
        stack.count(Stat.TCP_CONN_ATTEMPTS);
        sendSyn(now, false);
        armRtx(RTX_RTO, now + currentRto());
    }

    /** The options a SYN carried, against ours (RFC 7323 1.3, 2.2; RFC 2018 2). */
    private void negotiate(Tcp.Options o, int window, long now) {
        chooseReceiveScale();
        wsOk = cfg.windowScaling && o.windowScale >= 0;
        if (wsOk) {
            sndScale = o.windowScale;
        } else {
            sndScale = 0;
            rcvScale = 0;
        }
        sackOk = cfg.sack && o.sackPermitted;
        tsOk = cfg.timestamps && o.hasTimestamps;
        if (tsOk) {
            tsRecent = o.tsVal;
            tsRecentTime = now;
            tsRecentValid = true;
        }
        setupMss(o.mss > 0 ? o.mss : 0);
        sndWnd = window; // a SYN's window is never scaled
        maxSndWnd = sndWnd;
    }

    /** A connection made from a valid SYN-cookie ACK: ESTABLISHED at once with what the cookie kept. */
    private void cookieOpen(TcpListener l, int irs, int iss, int peerMss, int sndScale, boolean sack, boolean ts, int tsRecentVal) {
        long now = stack.now();
        listener = l;
        passive = true;
        embryonic = true;
        checksumOffload = stack.network().checksumOffload(remoteHigh, remoteLow);
        this.irs = irs;
        this.iss = iss;
        rcvNxt = irs + 1;
        tsOffset = stack.tsOffset(this);
        chooseReceiveScale();
        wsOk = sndScale >= 0;
        if (wsOk) this.sndScale = sndScale; else { this.sndScale = 0; rcvScale = 0; }
        sackOk = sack;
        tsOk = ts;
        if (ts) {
            tsRecent = tsRecentVal;
            tsRecentTime = now;
            tsRecentValid = true;
        }
        setupMss(peerMss);
        rcv.init(rcvNxt);
        rcvAdv = rcvNxt + synWindow();
        sndUna = iss; // the cookie's ACK, processed next, acknowledges the SYN
        sndNxt = iss + 1;
        sndBufSeq = iss + 1;
        sndUp = sndUna;
        lastRecvTime = now;
        state = TcpState.SYN_RECEIVED; // the cookie's ACK, processed next, completes it
    }

    /** Sends (or re-sends) our SYN or SYN-ACK. */
    private void sendSyn(long now, boolean retransmit) {
        int flags = Tcp.SYN | (state == TcpState.SYN_RECEIVED ? Tcp.ACK : 0);
        synSentTime = now;
        if (retransmit) synRetransmitted = true;
        buildAndQueue(iss, 0, 0, flags, now, true);
        stack.count(Stat.TCP_SND_CONTROL);
    }

    private void established(long now) {
        state = finQueued ? TcpState.FIN_WAIT_1 : TcpState.ESTABLISHED;
        embryonic = false;
        stack.count(Stat.TCP_CONNECTS);
        cc = CongestionControl.create(options.congestionControl != null ? options.congestionControl : cfg.congestionControl);
        // RFC 6928 / 5681 initial window, and RFC 6298 5.7: a lost SYN leaves the RTO at 3 s until data is timed.
        cc.init((long) Math.max(1, cfg.initialWindow) * mss, mss, now);
        if (synRetransmitted) rtt.afterSynLoss();
        rtt.resetBackoff();
        synRetries = 0;
        recoveryPoint = iss;
        sb.init(sndUna);
        lastSendTime = now;
        autotuneTime = now;
        filtered.setLimit(rcv.capacity());
        post(TcpUpcall.CONNECTED | TcpUpcall.WRITABLE);
        if (passive && listener != null) {
            if (!listener.established(this)) { // the listener closed, or its accept queue is full
                sendReset(now);
                enterClosed(0);
                return;
            }
            notifyListener = listener;
            stack.count(Stat.TCP_ACCEPTS);
        }
        if (options.keepAlive) armKeepalive(now);
    }

    /** The listener took it (accept): it is the user's now. */
    void markAccepted() { accepted = true; listener = null; }

    // =====================================================================================================
    // SEGMENT ARRIVES (RFC 9293 3.10.7)
    // =====================================================================================================

    /** A segment for this connection; {@code m}'s data is the TCP header and payload. Takes ownership. */
    void input(Packet m) {
        synchronized (lock) {
            segmentArrives(m, stack.now());
        }
        drain();
    }

    private void segmentArrives(Packet m, long now) {
        try {
            MemorySegment s = m.segment();
            long o = m.offset();
            int segLen = m.length();
            if (!opts.parse(s, o)) {
                stack.count(Stat.TCP_RCV_BAD_OPTIONS);
                return;
            }
            int hl = Tcp.headerLength(s, o);
            int flags = Tcp.flags(s, o);
            int seq = Tcp.seq(s, o);
            int ack = Tcp.ack(s, o);
            int wnd = Tcp.window(s, o);
            int len = segLen - hl;
            long payload = o + hl;
            switch (state) {
                case CLOSED, LISTEN -> { return; }
                case SYN_SENT -> { synSent(s, o, flags, seq, ack, wnd, len, payload, now); return; }
                default -> { }
            }
            synchronizedInput(s, o, flags, seq, ack, wnd, len, payload, now);
        } finally {
            m.free();
        }
    }

    /** RFC 9293 3.10.7.3: SYN-SENT. */
    private void synSent(MemorySegment s, long o, int flags, int seq, int ack, int wnd, int len, long payload, long now) {
        boolean hasAck = (flags & Tcp.ACK) != 0;
        // first, the ACK bit
        if (hasAck && (Seq.leq(ack, iss) || Seq.gt(ack, sndNxt))) {
            if ((flags & Tcp.RST) == 0) stack.sendReset(localHigh, localLow, localPort, remoteHigh, remoteLow, remotePort, ack, 0, false);
            return;
        }
        // second, the RST bit: acceptable only with an acceptable ACK (RFC 5961 3.2 for SYN-SENT)
        if ((flags & Tcp.RST) != 0) {
            if (hasAck) {
                stack.count(Stat.TCP_RCV_RST);
                enterClosed(Errno.ECONNREFUSED);
            }
            return;
        }
        // fourth, the SYN bit
        if ((flags & Tcp.SYN) == 0) return;
        irs = seq;
        rcvNxt = seq + 1;
        negotiate(opts, wnd, now);
        rcv.init(rcvNxt);
        rcvAdv = rcvNxt + synWindow();
        lastRecvTime = now;
        if (hasAck) {
            sndUna = ack;
            sndWl1 = seq;
            sndWl2 = ack;
            if (!synRetransmitted) rttSample(now - synSentTime, now);
            else if (tsOk && opts.tsEcr != 0) tsRttSample(now);
            stopRtx();
            established(now);
            if (state == TcpState.CLOSED) return;
            ackNow = true;
            if (len > 0 || (flags & Tcp.FIN) != 0) { // data on a SYN-ACK (RFC 9293 allows it): process it below
                text(s, flags & ~Tcp.SYN, seq + 1, len, payload, now);
            }
            output(now);
        } else {
            // simultaneous open (RFC 9293 3.5, figure 8): SYN-RECEIVED, SYN-ACK with our ISS
            state = TcpState.SYN_RECEIVED;
            sndWl1 = seq;
            sendSyn(now, false);
            armRtx(RTX_RTO, now + currentRto());
        }
    }

    /** RFC 9293 3.10.7.4: every state from SYN-RECEIVED on. */
    private void synchronizedInput(MemorySegment s, long o, int flags, int seq, int ack, int wnd, int len, long payload, long now) {
        boolean rst = (flags & Tcp.RST) != 0;
        if (state == TcpState.SYN_RECEIVED && (flags & Tcp.SYN) != 0 && seq == irs && !rst) {
            if ((flags & Tcp.ACK) == 0) { // the peer's SYN again: our SYN-ACK was lost (Linux and BSD answer it)
                sendSyn(now, true);
                return;
            }
            // Simultaneous open (RFC 9293 figure 8, line 6): the peer's SYN-ACK repeats its SYN; trim the
            // duplicate SYN, as BSD does, and process the ACK.
            flags &= ~Tcp.SYN;
            seq++;
        }
        // RFC 7323 3.2: once timestamps are on, a segment without one is dropped (RST aside)
        if (tsOk && !opts.hasTimestamps && !rst) {
            stack.count(Stat.TCP_NO_TIMESTAMP_DROPS);
            return;
        }
        // RFC 7323 5.3 R1, PAWS, before the sequence check
        if (tsOk && opts.hasTimestamps && !rst && tsRecentValid && Seq.lt(opts.tsVal, tsRecent)) {
            if (now - tsRecentTime > PAWS_IDLE) {
                tsRecentValid = false; // R1: an old TS.Recent no longer protects anything
            } else {
                stack.count(Stat.TCP_PAWS_DROPS);
                outOfWindowAck(now, len > 0);
                return;
            }
        }
        // first: is the segment acceptable?
        int segSeqLen = len + ((flags & Tcp.SYN) != 0 ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
        int rcvWnd = Math.max(0, rcvAdv - rcvNxt);
        if (!acceptable(seq, segSeqLen, rcvWnd)) {
            if (rst) return;
            if (state == TcpState.TIME_WAIT && (flags & Tcp.FIN) != 0 && seq + len + 1 == rcvNxt) {
                armIdle(IDLE_TIME_WAIT, now + 2 * cfg.msl); // the peer's FIN again: ACK it, restart 2 MSL (3.10.7.4)
                sendAck(now);
                return;
            }
            if (len > 0 && rcvWnd == 0 && seq == rcvNxt && (flags & Tcp.ACK) != 0) {
                // a window probe: the ACK and the window it carries still count (RFC 9293 3.10.7.4)
                stack.count(Stat.TCP_RCV_WINDOW_PROBES);
                if (!ackField(flags, seq, ack, wnd, 0, now)) return;
                ackNow = true;
                output(now);
                return;
            }
            if (len > 0) {
                if (Seq.leq(seq + len, rcvNxt)) {
                    stack.count(Stat.TCP_RCV_DUP);
                    dsack(seq, seq + len);
                } else {
                    stack.count(Stat.TCP_RCV_AFTER_WINDOW);
                }
            }
            outOfWindowAck(now, len > 0 || (flags & Tcp.FIN) != 0);
            return;
        }
        // second: RST (RFC 5961 3.2: only the exact next sequence number resets; in-window gets a challenge ACK)
        if (rst) {
            if (seq == rcvNxt) reset();
            else challengeAck(now);
            return;
        }
        // fourth: SYN in a synchronized state, or a new SYN in SYN-RECEIVED (RFC 5961 4.2): challenge ACK
        if ((flags & Tcp.SYN) != 0) {
            challengeAck(now);
            return;
        }
        // fifth: ACK
        if ((flags & Tcp.ACK) == 0) return;
        lastRecvTime = now;
        keepProbes = 0;
        if (state == TcpState.SYN_RECEIVED) {
            if (Seq.gt(ack, sndUna) && Seq.leq(ack, sndNxt)) {
                if (passive && listener != null && !listener.hasRoom()) {
                    // accept queue full: drop the ACK and let the SYN-ACK timer (or the peer) try again, as Linux does
                    stack.count(Stat.TCP_LISTEN_OVERFLOWS);
                    if (rtxDeadline == NONE) enterClosed(0); // a SYN cookie's connection has no state to keep
                    return;
                }
                sndUna = ack;
                sndWnd = (long) wnd << sndScale;
                maxSndWnd = Math.max(maxSndWnd, sndWnd);
                sndWl1 = seq;
                sndWl2 = ack;
                if (!synRetransmitted && rtxDeadline != NONE) rttSample(now - synSentTime, now);
                else if (tsOk && opts.tsEcr != 0) tsRttSample(now);
                stopRtx();
                established(now);
                if (state == TcpState.CLOSED) return;
            } else {
                stack.sendReset(localHigh, localLow, localPort, remoteHigh, remoteLow, remotePort, ack, 0, false);
                return;
            }
        }
        if (!ackField(flags, seq, ack, wnd, len, now)) return;
        if (state == TcpState.CLOSED) return;
        // sixth: URG
        if ((flags & Tcp.URG) != 0 && state.canReceive() && !readShut) {
            int up = seq + Tcp.urgentPointer(s, o);
            if (Seq.gt(up, rcvNxt) || Seq.geq(up, rcv.readSeq())) {
                if (rcv.urgent(up)) post(TcpUpcall.URGENT);
            }
        }
        // seventh and eighth: text and FIN
        text(s, flags, seq, len, payload, now);
        if (state == TcpState.CLOSED) return;
        output(now);
    }

    /** The acceptability test of RFC 9293 3.10.7.4 (four cases by length and window). */
    private boolean acceptable(int seq, int segLen, int wnd) {
        if (segLen == 0) return wnd == 0 ? seq == rcvNxt : Seq.in(seq, rcvNxt, rcvNxt + wnd);
        if (wnd == 0) return false;
        return Seq.in(seq, rcvNxt, rcvNxt + wnd) || Seq.in(seq + segLen - 1, rcvNxt, rcvNxt + wnd);
    }

    /** RFC 7323 4.3 R3: record the timestamp of a segment that covers Last.ACK.sent. */
    private void updateTsRecent(int seq, long now) {
        if (opts.hasTimestamps && (!tsRecentValid || Seq.geq(opts.tsVal, tsRecent)) && Seq.leq(seq, lastAckSent)) {
            tsRecent = opts.tsVal;
            tsRecentTime = now;
            tsRecentValid = true;
        }
    }

    /** An exact RST: the connection is reset (RFC 9293 3.10.7.4 second check, by state). */
    private void reset() {
        stack.count(Stat.TCP_RCV_RST);
        switch (state) {
            case SYN_RECEIVED -> {
                if (passive) { // back to LISTEN: the half-open connection just goes
                    stack.count(Stat.TCP_EMBRYONIC_DROPS);
                    enterClosed(0);
                } else {
                    enterClosed(Errno.ECONNREFUSED);
                }
            }
            case ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT -> {
                stack.count(Stat.TCP_DROPS);
                enterClosed(Errno.ECONNRESET);
            }
            default -> enterClosed(0); // CLOSING, LAST-ACK, TIME-WAIT
        }
    }

    /** RFC 5961 section 7: a challenge ACK, at most {@link TcpConfig#challengeAckLimit} per second. */
    private void challengeAck(long now) {
        if (now - challengeWindowStart >= SECOND) {
            challengeWindowStart = now;
            challengeCount = 0;
        }
        if (challengeCount >= cfg.challengeAckLimit) {
            stack.count(Stat.TCP_CHALLENGE_ACKS_LIMITED);
            return;
        }
        challengeCount++;
        stack.count(Stat.TCP_CHALLENGE_ACKS);
        sendAck(now);
    }

    /** The ACK RFC 9293 sends for an unacceptable segment; rate limited when it carries no data (ACK loops). */
    private void outOfWindowAck(long now, boolean hadData) {
        if (!hadData && now - lastOowAck < cfg.outOfWindowAckInterval) {
            stack.count(Stat.TCP_OOW_ACKS_LIMITED);
            return;
        }
        lastOowAck = now;
        sendAck(now);
    }

    /**
     * The fifth check, in the synchronized states: ACK validation (RFC 5961 5.2), then what the ACK
     * acknowledges, SACK, loss detection, recovery, congestion control, the send window, and the state
     * changes an acknowledged FIN makes.
     * @return false if the segment is to be dropped
     */
    private boolean ackField(int flags, int seq, int ack, int wnd, int len, long now) {
        if (Seq.gt(ack, sndNxt) || Seq.lt(ack, (int) (sndUna - maxSndWnd))) {
            stack.count(Stat.TCP_RCV_ACK_TOO_MUCH);
            challengeAck(now);
            return false;
        }
        // R3 only now: a segment dropped for its ACK must not move TS.Recent (else its forged TSval would make PAWS
        // drop the peer's next segments); before any action, so that what this ACK sends echoes this TSval
        if (tsOk) updateTsRecent(seq, now);
        boolean advanced = Seq.gt(ack, sndUna);
        boolean fullFlightAcked = cwndFilled && Seq.lt(sndUna, cwndFullEnd) && 2 * cwndFlight >= cc.cwnd();
        long newWnd = (long) wnd << sndScale;
        boolean windowUpdate = Seq.lt(sndWl1, seq) || (sndWl1 == seq && Seq.leq(sndWl2, ack));
        // RFC 5681 2's duplicate ACK (for SACK connections RFC 6675 2's, decided below)
        boolean dup = !advanced && len == 0 && (flags & (Tcp.SYN | Tcp.FIN)) == 0 && ack == sndUna
                && newWnd == sndWnd && sndNxt != sndUna && !probeOutstanding;
        sb.beginAck();
        long pipeBefore = pipe(), lostBefore = sb.lostTotal();
        long ackedBytes = 0;
        boolean finAcked = false;
        if (advanced) {
            ackedBytes = ack - sndUna;
            sb.cumAck(ack);
            int dataEnd = sndBufSeq + snd.length();
            int dataAcked = Seq.min(ack, dataEnd) - sndBufSeq;
            if (dataAcked > 0) {
                snd.consume(dataAcked);
                sndBufSeq += dataAcked;
            }
            finAcked = finSent && Seq.gt(ack, finSeq);
            sndUna = ack;
            bytesAcked += ackedBytes;
            stack.count(Stat.TCP_RCV_ACKS);
            persistUnanswered = 0;
            if (urgentMode && Seq.geq(sndUna, sndUp)) urgentMode = false;
            if (probeOutstanding && Seq.geq(sndUna, sndNxt)) probeOutstanding = false;
            firstUnackedTime = now;
        }
        boolean dsack = false;
        long newlySacked = 0;
        if (sackOk && opts.sackBlocks > 0) {
            int first = 0;
            int l0 = opts.sack[0], r0 = opts.sack[1];
            if (Seq.lt(l0, ack) || (opts.sackBlocks > 1 && Seq.geq(l0, opts.sack[2]) && Seq.leq(r0, opts.sack[3]))) {
                dsack = true; // RFC 2883 4: below the cumulative ACK, or inside the second block
                stack.count(Stat.TCP_DSACK_RCVD);
                dsackUndo(l0, r0, now);
                if (tlpOutstanding && tlpIsRetrans && Seq.geq(r0, tlpEnd) && Seq.leq(l0, tlpEnd)) tlpDsacked = true;
                first = 1;
            }
            for (int b = first; b < opts.sackBlocks; b++) {
                int l = opts.sack[2 * b], r = opts.sack[2 * b + 1];
                if (Seq.geq(l, r) || Seq.gt(r, sndNxt) || Seq.lt(l, sndUna)) continue; // RFC 2018: ignore bogus blocks
                newlySacked += sb.sack(l, r);
            }
        }
        // RFC 6675 2: with SACK, a duplicate ACK is one that SACKs new data, even if it changes the window or
        // moves SND.UNA; a D-SACK or a copy of an ACK is not one.
        if (sackOk) dup = newlySacked > 0;
        if (dup) stack.count(Stat.TCP_RCV_DUP_ACKS);
        // RTT: from the transmit time of what this ACK delivered (Karn: never from a retransmitted segment),
        // else from the echoed timestamp (RFC 7323 4.1), which a retransmission does not confuse.
        if (advanced || newlySacked > 0) {
            if (sb.deliveredXmit >= 0 && !sb.deliveredAnyRetransmitted) rttSample(now - sb.deliveredXmit, now);
            else if (advanced && tsOk && opts.tsEcr != 0) tsRttSample(now);
            rackUpdate(now);
        }
        if (sb.reorderingObserved) rackReordering = true;
        // recovery and the window
        if (advanced) {
            if (fastRecovery) {
                if (Seq.geq(ack, recoveryPoint)) {
                    endRecovery(now);
                } else if (!sackOk) {
                    sb.markLostOnce(0); // RFC 6582 3.2 step 4: a partial ACK retransmits the next hole at once
                    renoSacked = Math.max(0, renoSacked - ackedBytes);
                    forceRetransmit = true;
                }
            } else if (rtoRecovery) {
                if (Seq.geq(ack, recoveryPoint)) endRecovery(now);
                cc.onAck(ackedBytes, true, now, rtt.srtt());
            } else {
                cc.onAck(ackedBytes, cwndLimited || fullFlightAcked, now, rtt.srtt());
            }
            growSendBuffer();
            dupAcks = 0;
            if (!fastRecovery) renoSacked = 0;
        }
        if (dup) {
            dupAcks++;
            // Without SACK each duplicate ACK says a segment left the network: it frees room in the pipe, which
            // is RFC 3042's limited transmit before recovery and RFC 6582's window inflation during it.
            if (!sackOk) renoSacked = Math.min(renoSacked + mss, Math.max(0, sb.outBytes() - mss));
        }
        if (tlpOutstanding && (advanced || dsack)) tlpAckCheck(ack, now);
        detectLoss(now, dup, dsack);
        if (advanced || newlySacked > 0 || sb.lostTotal() != lostBefore) rateSample(pipeBefore, lostBefore, now);
        if (windowUpdate) {
            if (newWnd != sndWnd) stack.count(Stat.TCP_RCV_WINDOW_UPDATES);
            boolean opened = newWnd > sndWnd;
            sndWnd = newWnd;
            sndWl1 = seq;
            sndWl2 = ack;
            if (sndWnd > maxSndWnd) maxSndWnd = sndWnd;
            if (opened && rtxKind == RTX_PERSIST && rtxDeadline != NONE && sndWnd > (long) (sndNxt - sndUna)) {
                leavePersist(now);
            }
        }
        if (rtxKind == RTX_PERSIST && rtxDeadline != NONE && !advanced) persistUnanswered = 0; // the peer is alive
        if (advanced) {
            rearmAfterAck(now);
            if (writeWanted && snd.space() >= Math.max(1, snd.limit() / 3)) {
                writeWanted = false;
                post(TcpUpcall.WRITABLE);
            }
        }
        if (finAcked) {
            switch (state) {
                case FIN_WAIT_1 -> {
                    state = TcpState.FIN_WAIT_2;
                    stopRtx();
                    if (userClosed) armIdle(IDLE_FIN_WAIT_2, now + cfg.finWait2Timeout);
                }
                case CLOSING -> enterTimeWait(now);
                case LAST_ACK -> {
                    stack.count(Stat.TCP_CLOSED);
                    enterClosed(0);
                    return false;
                }
                default -> { }
            }
        }
        if (state == TcpState.TIME_WAIT && (flags & Tcp.FIN) != 0) { // a retransmitted FIN: ACK it, restart 2 MSL
            ackNow = true;
            armIdle(IDLE_TIME_WAIT, now + 2 * cfg.msl);
        }
        return true;
    }

    /**
     * The ACK's delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation 3.3) for the controller, after
     * loss detection and any change of recovery state, as Linux's {@code tcp_cong_control}.
     */
    private void rateSample(long pipeBefore, long lostBefore, long now) {
        RateSample rs = rateSample;
        sb.rateSample(rs, now, rtt.minRtt());
        rs.priorInFlight = pipeBefore;
        rs.inFlight = pipe();
        rs.newlyLost = sb.lostTotal() - lostBefore;
        rs.recovery = fastRecovery ? RateSample.RECOVERY : rtoRecovery ? RateSample.LOSS : RateSample.OPEN;
        cc.onRateSample(rs, now);
        if (cc.holdsWindowDown()) sb.markAppLimited(rs.inFlight);
    }

    /** What is in flight: the RFC 6675 pipe, less what duplicate ACKs said left the network for a peer without SACK. */
    private long pipe() { return sb.pipe() - Math.min(renoSacked, sb.pipe()); }

    /** RFC 8985 6.2 steps 2-3: RACK's most recently delivered segment and RTT. */
    private void rackUpdate(long now) {
        if (sb.deliveredXmit < 0) return;
        long sampled = now - sb.deliveredXmit;
        if (sb.deliveredRetransmitted) {
            // the ACK may be for the original transmission: ignore it if it came back faster than any path can
            if (rtt.minRtt() != RttEstimator.NONE && sampled < rtt.minRtt()) return;
            if (tsOk && opts.tsEcr != 0 && Seq.lt(opts.tsEcr, tsNow(sb.deliveredXmit))) return;
        }
        rackRtt = sampled;
        if (rackXmit < 0 || sb.deliveredXmit - rackXmit > 0 || (sb.deliveredXmit == rackXmit && Seq.gt(sb.deliveredEnd, rackEnd))) {
            rackXmit = sb.deliveredXmit;
            rackEnd = sb.deliveredEnd;
        }
    }

    /** RFC 8985 6.2 step 4: the reordering window. */
    private long rackReoWnd(boolean dsackThisAck) {
        if (rackDsackRoundValid && Seq.geq(sndUna, rackDsackRound)) rackDsackRoundValid = false;
        if (!rackDsackRoundValid && dsackThisAck) {
            rackDsackRound = sndNxt;
            rackDsackRoundValid = true;
            rackReoWndMult++;
            rackReoWndPersist = 16;
        }
        if (!rackReordering) {
            if (fastRecovery || rtoRecovery) return 0;
            if (sb.sackedBytes() >= (long) cfg.dupThresh * mss) return 0;
        }
        long mr = rtt.minRtt() == RttEstimator.NONE ? 0 : rtt.minRtt();
        return Math.min(rackReoWndMult * mr / 4, rtt.srtt());
    }

    /** Marks segments lost (RACK, or DupThresh; NewReno's third dupACK) and enters recovery when one is. */
    private void detectLoss(long now, boolean dup, boolean dsack) {
        if (sb.isEmpty()) return;
        long lostBefore = sb.lostBytes();
        if (sackOk) {
            if (cfg.rack) {
                if (rackXmit >= 0) {
                    long timeout = sb.rackDetectLoss(now, rackXmit, rackEnd, rackRtt, rackReoWnd(dsack));
                    if (timeout > 0) armRtx(RTX_REORDER, now + timeout);
                }
            } else {
                sb.markLostByDupThresh(cfg.dupThresh, mss);
            }
            if (dup && dupAcks >= cfg.dupThresh && !fastRecovery && !rtoRecovery) sb.markLostOnce(0); // RFC 6675 5 (DupAcks >= DupThresh)
        } else if (dup && dupAcks == cfg.dupThresh && !fastRecovery && !rtoRecovery && Seq.gt(sndUna, recoveryPoint)) {
            sb.markLostOnce(0); // RFC 6582 3.2 step 2: the third duplicate ACK, beyond "recover"
        }
        long newlyLost = sb.lostBytes() - lostBefore;
        if (newlyLost > 0) {
            if (cfg.rack && sackOk) stack.add(Stat.TCP_RACK_LOST, Math.max(1, newlyLost / Math.max(1, mss)));
            if (!fastRecovery && !rtoRecovery) enterRecovery(now);
        }
    }

    /**
     * RFC 3708 2: a D-SACK for data retransmitted in this episode means that retransmission was not needed;
     * when all of them are reported so, the episode was spurious and congestion control takes its
     * reduction back (RFC 9438 4.9, Linux's undo_retrans).
     */
    private void dsackUndo(int left, int right, long now) {
        if (!undoPossible || Seq.lt(left, undoMarker)) return;
        int segments = Math.max(1, (right - left + mss - 1) / Math.max(1, mss));
        undoRetrans -= segments;
        if (undoRetrans <= 0) {
            undoPossible = false;
            cc.undo(now);
            stack.count(Stat.TCP_UNDO);
        }
    }

    private void startUndoEpisode() {
        undoPossible = true;
        undoRetrans = 0;
        undoMarker = sndUna;
    }

    /** RFC 6675 5 step 4 (and RFC 6582): RecoveryPoint, ssthresh and cwnd, the first retransmission at once. */
    private void enterRecovery(long now) {
        startUndoEpisode();
        fastRecovery = true;
        recoveryPoint = sndNxt;
        cc.onCongestionEvent(sb.outBytes(), now);
        forceRetransmit = true;
        stack.count(Stat.TCP_RECOVERY);
    }

    private void endRecovery(long now) {
        if (fastRecovery) cc.onRecoveryEnd(sb.pipe(), now);
        fastRecovery = false;
        rtoRecovery = false;
        renoSacked = 0;
        if (--rackReoWndPersist <= 0) rackReoWndMult = 1;
    }

    /** RFC 8985 7.4: did the tail loss probe repair a loss? Then congestion control hears of it. */
    private void tlpAckCheck(int ack, long now) {
        if (tlpDsacked) { // the probe was a duplicate: nothing was lost
            tlpOutstanding = false;
            tlpDsacked = false;
            return;
        }
        if (Seq.geq(ack, tlpEnd)) {
            if (tlpIsRetrans && !fastRecovery && !rtoRecovery) { // the probe repaired the tail: a loss, once
                cc.onCongestionEvent(sb.outBytes() + mss, now);
                cc.onRecoveryEnd(sb.pipe(), now);
            }
            tlpOutstanding = false;
        }
    }

    /** The seventh and eighth checks: segment text and FIN. */
    private void text(MemorySegment s, int flags, int seq, int len, long payload, long now) {
        if (len > 0) {
            if (!state.canReceive()) {
                // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: a FIN came already; the data is ignored (3.10.7.4)
                return;
            }
            if (userClosed && Seq.gt(seq + len, rcvNxt)) {
                // new data after the user closed: nobody will read it (RFC 9293 3.10.4; Linux, BSD)
                stack.count(Stat.TCP_RCV_AFTER_CLOSE);
                sendReset(now);
                stack.count(Stat.TCP_DROPS);
                enterClosed(0);
                return;
            }
            receiveData(s, seq, len, payload, (flags & Tcp.FIN) != 0, now);
        } else if ((flags & Tcp.FIN) != 0 && Seq.gt(seq, rcvNxt)) {
            rememberFin(seq, now); // an empty FIN beyond a hole
        }
        if ((flags & Tcp.FIN) != 0 && seq + len == rcvNxt && !finReceived) finArrived(now);
        else if (rcvFinPending && rcvFinSeq == rcvNxt && !finReceived) finArrived(now);
    }

    private void rememberFin(int finAt, long now) {
        rcvFinPending = true;
        rcvFinSeq = finAt;
        ackNow = true;
    }

    /** In-order and out-of-order data into the receive ring; delayed ACK, D-SACK, SACK. */
    private void receiveData(MemorySegment s, int seq, int len, long payload, boolean fin, long now) {
        int edge = rcvAdv;
        if (Seq.lt(seq, rcvNxt)) { // trim what was received already (a partial duplicate: D-SACK it)
            int d = rcvNxt - seq;
            stack.count(Stat.TCP_RCV_PARTDUP);
            dsack(seq, rcvNxt);
            seq += d;
            payload += d;
            len -= d;
        }
        edge = Seq.min(edge, rcv.rightEdge()); // never past the ring, whatever was promised
        if (Seq.gt(seq + len, edge)) { // trim what lies beyond the window
            int cut = seq + len - edge;
            len -= cut;
            fin = false;
            stack.count(Stat.TCP_RCV_AFTER_WINDOW);
        }
        if (len <= 0) return;
        if (fin && Seq.gt(seq, rcvNxt)) rememberFin(seq + len, now);
        if (len > rcvMss) rcvMss = Math.min(len, advMss);
        if (readShut) { // acknowledged and dropped (shutdown(SHUT_RD))
            if (seq == rcvNxt) {
                rcvNxt += len;
                rcv.init(rcvNxt);
            }
            ackNow = true;
            return;
        }
        boolean inOrder = seq == rcvNxt;
        boolean hadHoles = rcv.hasHoles();
        int moved = rcv.place(seq, s, payload, len);
        if (moved < 0) {
            stack.count(Stat.TCP_RCV_OOO_FULL);
            ackNow = true;
            return;
        }
        if (!inOrder) {
            stack.count(Stat.TCP_RCV_OOO);
            if (rcv.lastWasDuplicate) {
                stack.count(Stat.TCP_RCV_DUP);
                dsack(seq, seq + len);
            }
            ackNow = true; // RFC 5681 4.2: at once for out-of-order data
            return;
        }
        rcvNxt += moved;
        bytesReceived += moved;
        stack.count(Stat.TCP_RCV_DATA);
        stack.add(Stat.TCP_RCV_BYTES, moved);
        post(TcpUpcall.READABLE);
        if (hadHoles) ackNow = true; // a segment that fills a hole is acknowledged at once (RFC 5681 4.2)
        rcvUnackedBytes += moved;
        if (rcvUnackedBytes >= 2 * Math.max(rcvMss, 1)) ackNow = true; // every second full-sized segment (RFC 9293 3.8.6.3)
        if (tsOk && opts.tsEcr != 0) { // the receiver's RTT, through our echoed clock, for auto-tuning
            long r = (long) (tsNow(now) - opts.tsEcr) * 1_000_000L;
            if (r >= 0) rcvRtt = rcvRtt == 0 ? r : Math.min(r, (rcvRtt * 7 + r) / 8);
        }
    }

    private void dsack(int start, int end) {
        if (!sackOk) return;
        dsackPending = true;
        dsackStart = start;
        dsackEnd = end;
        ackNow = true;
    }

    /** The peer's FIN, in order (RFC 9293 3.10.7.4 eighth check). */
    private void finArrived(long now) {
        rcvNxt++;
        finReceived = true;
        rcvFinPending = false;
        ackNow = true;
        post(TcpUpcall.CANT_RECV_MORE | TcpUpcall.READABLE);
        switch (state) {
            case SYN_RECEIVED, ESTABLISHED -> state = TcpState.CLOSE_WAIT;
            case FIN_WAIT_1 -> {
                if (finSent && Seq.gt(sndUna, finSeq)) enterTimeWait(now);
                else state = TcpState.CLOSING;
            }
            case FIN_WAIT_2 -> enterTimeWait(now);
            default -> { }
        }
    }

    // =====================================================================================================
    // Sending
    // =====================================================================================================

    /**
     * Sends what the state, the windows and the rules allow (BSD's {@code tcp_output}): lost segments first
     * (RFC 6675 NextSeg rule 1), then new data under Nagle and sender SWS avoidance, then a pure ACK if one is
     * due and nothing carried it. Under the lock; segments go to the transmit list.
     */
    private void output(long now) {
        switch (state) {
            case CLOSED, LISTEN, SYN_SENT -> { return; }
            case SYN_RECEIVED -> { return; }
            case TIME_WAIT -> {
                if (ackNow) sendAck(now);
                return;
            }
            default -> { }
        }
        boolean sentAny = false;
        int unsent = sndBufSeq + snd.length() - sndNxt;
        if (sb.isEmpty() && (unsent > 0 || (finQueued && !finSent)) && now - lastSendTime > currentRto() && cc != null) {
            cc.onIdle((long) Math.max(1, cfg.initialWindow) * mss, now); // RFC 5681 4.1: restart after idle
        }
        cwndLimited = false;
        long rate = cc.pacingRate();
        for (int burst = 0; burst < cfg.maxBurst; burst++) {
            long pipe = pipe();
            boolean room = pipe < cc.cwnd();
            int lost = sb.nextLost();
            if (lost >= 0 && (room || forceRetransmit)) {
                if (!forceRetransmit && pacer.hold(now, rate, mss)) break; // not before its time (Pacer)
                forceRetransmit = false;
                if (!retransmit(lost, now)) break;
                sentAny = true;
                continue;
            }
            forceRetransmit = false;
            unsent = sndBufSeq + snd.length() - sndNxt;
            boolean finToSend = finQueued && !finSent && state != TcpState.SYN_RECEIVED;
            if (unsent <= 0 && !finToSend) {
                if (room && lost < 0) sb.markAppLimited(pipe); // the window had room the application did not fill
                break;
            }
            if (!room) {
                cwndLimited = true;
                break;
            }
            long wndRoom = sndWnd - (sndNxt - sndUna);
            int max = maxPayload();
            int len = (int) Math.min(Math.min(unsent, sendLimit(max, pipe)), Math.max(0, wndRoom));
            if (len > max) {
                // A super-segment is whole segments; a short one after them goes only as the rules below let a
                // short segment go: the last of the data, with Nagle off or half the peer's largest window.
                int tail = len % max;
                if (tail != 0 && (len < unsent || !(options.noDelay || (maxSndWnd > 0 && tail >= maxSndWnd / 2)))) len -= tail;
            }
            boolean fin = finToSend && len == unsent;
            if (len < max && !fin && !sendPartial(len, unsent)) {
                if (wndRoom < unsent && sb.isEmpty() && rtxDeadline == NONE) armPersist(now);
                else if (unsent < max && lost < 0) sb.markAppLimited(pipe); // less than a segment waits for more
                break;
            }
            if (len == 0 && !fin) break;
            if (pacer.hold(now, rate, mss)) break;
            sendNew(len, fin, len > max ? max : 0, now);
            sentAny = true;
        }
        long flight = pipe();
        if (2 * flight >= cc.cwnd()) { // what went out so far validates cwnd
            boolean sameFlight = cwndFilled && Seq.lt(sndUna, cwndFullEnd); // its ACKs shrink the pipe, not the flight
            cwndFlight = sameFlight ? Math.max(cwndFlight, flight) : flight;
            cwndFullEnd = sndNxt;
            cwndFilled = true;
        }
        if (!sentAny && (ackNow || dsackPending)) sendAck(now);
        else if (!sentAny && rcvUnackedBytes > 0 && !dackArmed) armDelayedAck(now);
    }

    /** Nagle (RFC 9293 3.7.4) and sender SWS avoidance (3.8.6.2.1) for a segment shorter than a full one. */
    private boolean sendPartial(int len, int unsent) {
        if (len <= 0) return false;
        if (len >= maxPayload()) return true;
        if (len == unsent && (options.noDelay || sb.isEmpty() || urgentMode)) return true; // all of it, nothing unacknowledged
        return maxSndWnd > 0 && len >= maxSndWnd / 2; // at least half the largest window the peer offered
    }

    /** The payload a segment built now may carry: the MSS less the options it will carry (SACK blocks too). */
    private int maxPayload() {
        int opt = tsOk ? 12 : 0;
        if (sackOk && (dsackPending || rcv.hasHoles())) {
            int k = Math.min((40 - opt - 4) / 8, (dsackPending ? 1 : 0) + rcv.sackBlockCount());
            if (k > 0) opt += 4 + 8 * k;
        }
        return mssBase - opt;
    }

    /**
     * The most new data one segment built now may carry: {@code max} (one MSS less options), or, when the route's
     * device segments ({@link #tsoMax}), as many of them as fit in its largest packet and in what the congestion
     * window leaves (rounded up, as one MSS is sent whenever the window has any room). Not in urgent mode: a device
     * does not carry the urgent pointer across the segments as TCP would.
     */
    private int sendLimit(int max, long pipe) {
        if (tsoMax <= 0 || urgentMode) return max;
        // The segment (TCP header, options, payload) fits the device's largest packet less the network header, and
        // one packet buffer; options are what the MSS leaves of max.
        int segment = Math.min(tsoMax - TcpEndpoint.networkHeader(remoteHigh, remoteLow), stack.buffers().large().maxData());
        int room = segment - Tcp.MIN_HEADER - (mssBase - max);
        long byCwnd = (cc.cwnd() - pipe + max - 1) / max;
        long rate = cc.pacingRate(); // paced, a super-segment is about 1 ms of data (Linux's TSO autosizing)
        long byRate = rate > 0 ? Math.max(2, rate / 1000 / max) : Long.MAX_VALUE;
        int k = (int) Math.max(1, Math.min(Math.min(room / max, byCwnd), byRate));
        return k * max;
    }

    /** Sends new data; {@code tsoSize} is the payload of each segment when the device is to cut it (0: one segment). */
    private void sendNew(int len, boolean fin, int tsoSize, long now) {
        int seq = sndNxt;
        int flags = Tcp.ACK | (fin ? Tcp.FIN : 0) | (len > 0 && seq + len == sndBufSeq + snd.length() ? Tcp.PSH : 0);
        if (!buildAndQueue(seq, seq - sndBufSeq, len, flags, now, false, tsoSize)) return;
        if (tsoSize > 0) stack.count(Stat.TCP_SND_TSO);
        sb.append(seq, seq + len + (fin ? 1 : 0), xmitStamp(now), fin);
        if (sb.count() == 1) firstUnackedTime = now;
        sndNxt = seq + len + (fin ? 1 : 0);
        if (fin) {
            finSent = true;
            finSeq = seq + len;
            stack.count(Stat.TCP_SND_CONTROL);
        }
        if (len > 0) {
            stack.count(Stat.TCP_SND_DATA);
            stack.add(Stat.TCP_SND_BYTES, len);
            bytesSent += len;
        }
        pacer.sent(now, len, cc.pacingRate());
        lastSendTime = now;
        armAfterSend(now);
    }

    /** Retransmits record i (split first if it no longer fits the MSS). */
    private boolean retransmit(int i, long now) {
        int maxLen = maxPayload();
        if (sb.dataLength(i) > maxLen) sb.split(i, sb.start(i) + maxLen);
        int seq = sb.start(i);
        int len = sb.dataLength(i);
        boolean fin = (sb.flags(i) & Scoreboard.FIN) != 0;
        int flags = Tcp.ACK | (fin ? Tcp.FIN : 0);
        if (!buildAndQueue(seq, seq - sndBufSeq, len, flags, now, false)) return false;
        sb.markRetransmitted(i, xmitStamp(now));
        pacer.sent(now, len, cc.pacingRate());
        retransmits++;
        if (undoPossible) undoRetrans++;
        stack.count(Stat.TCP_SND_REXMIT);
        stack.add(Stat.TCP_SND_REXMIT_BYTES, len);
        lastSendTime = now;
        if (rtxDeadline == NONE || rtxKind == RTX_TLP) armRtx(RTX_RTO, now + currentRto());
        return true;
    }

    /**
     * A pure ACK now (with SACK and D-SACK blocks when due). Its sequence number is SND.NXT unless that lies beyond
     * the peer's window, as it does while a zero-window probe's octet is out: a peer whose own window is zero accepts
     * an empty segment only at its RCV.NXT (RFC 9293 3.10.7.4) and would drop the ACK unread, never hearing that our
     * window opened (BSD keeps snd_nxt back in persist for the same reason).
     */
    private void sendAck(long now) {
        int seq = (long) (sndNxt - sndUna) > sndWnd ? sndUna + (int) sndWnd : sndNxt;
        if (buildAndQueue(seq, 0, 0, Tcp.ACK, now, false)) stack.count(Stat.TCP_SND_ACKS);
    }

    /** A RST for this connection (<SEQ=SND.NXT><CTL=RST>, with the ACK as Linux sends it). */
    private void sendReset(long now) {
        buildAndQueue(sndNxt, 0, 0, Tcp.RST | Tcp.ACK, now, false);
        stack.count(Stat.TCP_SND_RST);
    }

    /**
     * Builds one segment into a fresh packet buffer and queues it for the drainer. {@code dataOff} is where
     * its payload starts in the send buffer. Every segment but a SYN carries the ACK, the window, and the
     * timestamps; SACK blocks ride on ACKs when the receiver holds out-of-order data or owes a D-SACK.
     * @return false if no packet buffer was free (the segment counts as lost; timers repair it)
     */
    private boolean buildAndQueue(int seq, int dataOff, int len, int flags, long now, boolean syn) {
        return buildAndQueue(seq, dataOff, len, flags, now, syn, 0);
    }

    /**
     * As above; with {@code tsoSize} > 0 the segment is a super-segment for the device to cut into segments of that
     * much payload: its checksum field holds the pseudo-header sum only ({@link Packet#CSUM_PARTIAL}), the device
     * (or IPv4 output, for a route without one) finishing each segment's.
     */
    private boolean buildAndQueue(int seq, int dataOff, int len, int flags, long now, boolean syn, int tsoSize) {
        int optLen;
        int blocks = 0;
        if (syn) {
            optLen = Tcp.synOptionsLength(synWscale(), synSack(), synTs());
        } else {
            optLen = tsOk ? 12 : 0;
            if (sackOk && (flags & Tcp.RST) == 0 && (dsackPending || rcv.hasHoles())) {
                int room = (40 - optLen - 4) / 8;
                int k = 0;
                if (dsackPending) {
                    sackOut[0] = dsackStart;
                    sackOut[1] = dsackEnd;
                    k = 1;
                }
                k += rcv.sackBlocks(sackOut, 2 * k, room - k);
                blocks = k;
                if (blocks > 0) optLen += 4 + 8 * blocks;
            }
        }
        int hl = Tcp.MIN_HEADER + optLen;
        Packet m = stack.buffers().alloc(hl + len);
        if (m == null) {
            stack.count(Stat.TCP_SND_NO_BUFFERS);
            return false;
        }
        m.setData(m.offset(), hl + len);
        MemorySegment s = m.segment();
        long o = m.offset();
        int window = syn ? synWindow() : advertiseWindow();
        int urp = 0;
        if (urgentMode && !syn && Seq.gt(sndUp, seq)) {
            flags |= Tcp.URG;
            urp = Math.min(sndUp - seq, 0xffff);
        }
        int ackNum = (flags & Tcp.ACK) != 0 ? rcvNxt : 0;
        Tcp.write(s, o, localPort, remotePort, seq, ackNum, hl, flags, window, urp);
        long p = o + Tcp.MIN_HEADER;
        if (syn) {
            p += Tcp.writeSynOptions(s, p, advMss, synWscale() ? rcvScale : -1, synSack(), synTs(), tsNow(now),
                    state == TcpState.SYN_SENT && !tsOk ? 0 : tsRecent);
        } else {
            if (tsOk) p += Tcp.writeTimestamps(s, p, tsNow(now), tsRecent);
            if (blocks > 0) {
                p += Tcp.writeSack(s, p, sackOut, blocks);
                if (dsackPending) {
                    dsackPending = false;
                    stack.count(Stat.TCP_DSACK_SENT);
                }
            }
        }
        if (len > 0) snd.copyOut(dataOff, s, o + hl, len);
        if (tsoSize > 0) {
            long pseudo = stack.network().pseudoHeaderSum(localHigh, localLow, remoteHigh, remoteLow, hl + len);
            Tcp.setChecksum(s, o, Checksum.fold(pseudo));
            m.setCsumFlags(Packet.CSUM_PARTIAL | Packet.CSUM_DATA_VALID);
            m.setTsoSegmentSize(tsoSize);
        } else if (!checksumOffload) {
            Tcp.fillChecksum(s, o, hl + len, stack.network().pseudoHeaderSum(localHigh, localLow, remoteHigh, remoteLow, hl + len));
        }
        if ((flags & Tcp.ACK) != 0) {
            lastAckSent = rcvNxt;
            ackNow = false;
            rcvUnackedBytes = 0;
        }
        m.nextPkt = null;
        if (txTail == null) txHead = m; else txTail.nextPkt = m;
        txTail = m;
        stack.count(Stat.TCP_SND_TOTAL);
        return true;
    }

    /** A SYN offers window scaling when configured; a SYN-ACK only answers a SYN that offered it (RFC 7323 1.3). */
    private boolean synWscale() {
        return cfg.windowScaling && (state == TcpState.SYN_SENT || wsOk);
    }

    private boolean synSack() {
        return cfg.sack && (state == TcpState.SYN_SENT || sackOk);
    }

    private boolean synTs() {
        return cfg.timestamps && (state == TcpState.SYN_SENT || tsOk);
    }

    /** The window in our SYN or SYN-ACK: never scaled (RFC 7323 2.2). */
    private int synWindow() {
        return Math.min(rcv.capacity() - scaleSlack(), 65535);
    }

    /**
     * The window to put in a segment (RFC 9293 3.8.6.2.2, RFC 7323 2.3): free space, not moving the right edge
     * by less than min(half the buffer, an MSS) (receiver SWS avoidance), never moving it left, rounded up to
     * the scale unit (the ring has a unit of slack for that) but never past the ring's end: keeping an old
     * promise by rounding up again and again would creep past it while a slow reader holds the space (then
     * the field is rounded down: a retraction smaller than one unit, which RFC 7323 2.4 expects).
     */
    private int advertiseWindow() {
        int cap = rcv.capacity() - scaleSlack();
        long free = (long) cap - (rcvNxt - rcv.readSeq()) - filtered.length();
        if (readShut) free = cap;
        int edge = rcvNxt + (int) Math.max(0, Math.min(free, Integer.MAX_VALUE / 2));
        if (Seq.gt(edge, rcvAdv)) {
            int grow = edge - rcvAdv;
            if (grow < Math.min(cap / 2, advMss) && rcvAdv - rcvNxt > 0) edge = rcvAdv;
            else if (grow < Math.min(cap / 2, advMss) && rcvAdv == rcvNxt && free < Math.min(cap / 2, advMss)) edge = rcvAdv;
        }
        if (Seq.lt(edge, rcvAdv)) edge = rcvAdv;
        long wnd = Integer.toUnsignedLong(edge - rcvNxt);
        long field = (wnd + (1L << rcvScale) - 1) >>> rcvScale;
        if (field > 0xffff) field = 0xffff;
        long room = Math.max(0, rcv.rightEdge() - rcvNxt); // the ring's physical end
        if (field << rcvScale > room) field = room >>> rcvScale;
        int adv = rcvNxt + (int) (field << rcvScale);
        if (Seq.gt(adv, rcvAdv)) rcvAdv = adv;
        return (int) field;
    }

    /**
     * Whether reading opened the window enough to tell the peer now (BSD: two segments, or half the buffer). Not while
     * a delayed ACK is pending and the peer may still send two full segments (as FreeBSD, which sends no window
     * update while TF_DELACK is set): their arrival is acknowledged at once, and that ACK, the delayed one or the
     * reply the application is about to write carries the new window. A request read before its reply is written
     * would otherwise cost a segment of its own.
     */
    private boolean windowUpdateWorthSending() {
        int cap = rcv.capacity() - scaleSlack();
        long free = (long) cap - (rcvNxt - rcv.readSeq()) - filtered.length();
        long offered = rcvAdv - rcvNxt;
        long gain = free - offered;
        if (dackArmed && rcvUnackedBytes > 0 && offered >= 2L * advMss) return false;
        return gain >= 2L * advMss || (gain >= cap / 2 && gain > 0);
    }

    /**
     * Send-buffer auto-tuning (Linux's tcp_sndbuf_expand): unless the user set SO_SNDBUF, the buffer holds
     * twice the congestion window, so that the window, not the buffer, limits what is in flight.
     */
    private void growSendBuffer() {
        if (userSndBuf) return;
        long want = Math.min(cfg.sendBufferMax, 2 * cc.cwnd());
        if (want > snd.limit()) {
            snd.setLimit((int) want);
            if (writeWanted) {
                writeWanted = false;
                post(TcpUpcall.WRITABLE);
            }
        }
    }

    /** Receive-buffer auto-tuning: a reader that drained over half the buffer in one RTT gets it doubled. */
    private void autotune(long now) {
        if (userRcvBuf) return;
        long period = rcvRtt > 0 ? rcvRtt : rtt.srtt();
        if (period <= 0 || now - autotuneTime < period) return;
        int cap = rcv.capacity() - scaleSlack();
        if (autotuneCopied > cap / 2 && cap < cfg.receiveBufferMax && (65535L << rcvScale) > cap) {
            int n = (int) Math.min(Math.min((long) cap * 2, cfg.receiveBufferMax), 65535L << rcvScale);
            rcv.grow(n + scaleSlack());
            filtered.setLimit(n);
            stack.count(Stat.TCP_RCVBUF_GROWN);
        }
        autotuneCopied = 0;
        autotuneTime = now;
    }

    /** A transmit stamp: the clock, or one nanosecond after the last stamp if the clock has not moved past it. */
    private long xmitStamp(long now) {
        xmitClock = Math.max(now, xmitClock + 1);
        return xmitClock;
    }

    private int tsNow(long now) { return (int) (now / 1_000_000L) + tsOffset; }


    // =====================================================================================================
    // RTT and timers
    // =====================================================================================================

    /**
     * An RTT sample from the echoed timestamp (RFC 7323 4.1): valid for a retransmitted segment too, but of
     * millisecond granularity, so it feeds SRTT and not the minimum RTT that RACK trusts.
     */
    private void tsRttSample(long now) {
        rtt.sample((long) (tsNow(now) - opts.tsEcr) * 1_000_000L, now, false);
    }

    private void rttSample(long r, long now) {
        rtt.sample(r, now, true);
    }

    private long currentRto() { return rtt.rto(); }

    private void armRtx(int kind, long deadline) {
        rtxKind = kind;
        rtxDeadline = deadline;
        if (rtxWheelAt == NONE || rtxWheelAt - deadline > 0) {
            rtxWheelAt = deadline;
            stack.wheel().schedule(rtxTimer, deadline);
        }
    }

    private void stopRtx() { rtxDeadline = NONE; }

    private void armIdle(int kind, long deadline) {
        idleKind = kind;
        idleDeadline = deadline;
        if (idleWheelAt == NONE || idleWheelAt - deadline > 0) {
            idleWheelAt = deadline;
            stack.wheel().schedule(idleTimer, deadline);
        }
    }

    private void armDelayedAck(long now) {
        dackArmed = true;
        stack.wheel().schedule(dackTimer, now + cfg.delayedAck);
    }

    private void armKeepalive(long now) {
        long idle = options.keepIdle > 0 ? options.keepIdle : cfg.keepIdle;
        armIdle(IDLE_KEEPALIVE, Math.max(now, lastRecvTime) + idle);
    }

    /**
     * After new data went out: RFC 6298 5.1 starts the RTO if it is not running; RFC 8985 7.2 (re)arms the
     * loss probe instead when it may.
     */
    private void armAfterSend(long now) {
        if (rtxKind == RTX_REORDER && rtxDeadline != NONE) return;
        if (tlpAllowed()) armRtx(RTX_TLP, Math.min(now + pto(), rtxDeadline == NONE || rtxKind != RTX_RTO ? now + currentRto() : rtxDeadline));
        else if (rtxDeadline == NONE || rtxKind == RTX_PERSIST) armRtx(RTX_RTO, now + currentRto());
    }

    /** After an ACK of new data: RFC 6298 5.2-5.3 stops or restarts the timer; a probe may be armed instead. */
    private void rearmAfterAck(long now) {
        if (sb.isEmpty()) {
            stopRtx();
            if (sndBufSeq + snd.length() - sndNxt > 0 && sndWnd <= sndNxt - sndUna) armPersist(now);
            return;
        }
        if (rtxKind == RTX_REORDER && rtxDeadline != NONE) return;
        if (rtxKind == RTX_PERSIST && rtxDeadline != NONE && probeOutstanding) return;
        if (tlpAllowed()) armRtx(RTX_TLP, now + Math.min(pto(), currentRto()));
        else armRtx(RTX_RTO, now + currentRto());
    }

    /** RFC 8985 7.2: a probe may be scheduled when SACK is on, no recovery or probe is under way. */
    private boolean tlpAllowed() {
        return cfg.tailLossProbe && sackOk && !fastRecovery && !rtoRecovery && !tlpOutstanding && rtt.measured() && !sb.isEmpty();
    }

    /** RFC 8985 7.2 TLP_calc_PTO. */
    private long pto() {
        long p = 2 * rtt.srtt();
        if (sb.count() == 1) p += cfg.maxAckDelay;
        return Math.max(p, stack.wheel().tickNanos() * 2);
    }

    private void armPersist(long now) {
        long base = Math.max(rtt.baseRto(), PERSIST_MIN) << Math.min(persistBackoff, 16);
        armRtx(RTX_PERSIST, now + Math.min(Math.max(base, PERSIST_MIN), PERSIST_MAX));
    }

    private void leavePersist(long now) {
        persistBackoff = 0;
        persistUnanswered = 0;
        if (probeOutstanding && !sb.isEmpty()) { // the probe byte was probably refused: resend it with the rest
            sb.markLost(0);
            forceRetransmit = true;
        }
        probeOutstanding = false;
        stopRtx();
        if (!sb.isEmpty()) armRtx(RTX_RTO, now + currentRto());
    }

    /** Runs a timer: the wheel's thread, no lock held on entry. */
    private void timer(Timeout t) {
        synchronized (lock) {
            long now = stack.now();
            if (t == rtxTimer) {
                rtxWheelAt = NONE;
                if (rtxDeadline == NONE) return;
                if (now - rtxDeadline < 0) { // moved later since it was scheduled (lazy re-arming)
                    rtxWheelAt = rtxDeadline;
                    stack.wheel().schedule(rtxTimer, rtxDeadline);
                    return;
                }
                rtxDeadline = NONE;
                switch (rtxKind) {
                    case RTX_RTO -> onRto(now);
                    case RTX_TLP -> onTlp(now);
                    case RTX_REORDER -> onReorderTimeout(now);
                    case RTX_PERSIST -> onPersist(now);
                    default -> { }
                }
            } else if (pacer.fired(t)) {
                if (state.isSynchronized()) output(now);
            } else if (t == dackTimer) {
                dackArmed = false;
                if (state.isSynchronized() && state != TcpState.TIME_WAIT && (rcvUnackedBytes > 0 || ackNow)) {
                    ackNow = true;
                    stack.count(Stat.TCP_SND_DELAYED_ACKS);
                    output(now);
                }
            } else {
                idleWheelAt = NONE;
                if (idleDeadline == NONE) return;
                if (now - idleDeadline < 0) {
                    idleWheelAt = idleDeadline;
                    stack.wheel().schedule(idleTimer, idleDeadline);
                    return;
                }
                idleDeadline = NONE;
                switch (idleKind) {
                    case IDLE_KEEPALIVE -> onKeepalive(now);
                    case IDLE_FIN_WAIT_2 -> { if (state == TcpState.FIN_WAIT_2) enterClosed(0); }
                    case IDLE_TIME_WAIT -> { if (state == TcpState.TIME_WAIT) enterClosed(0); }
                    default -> { }
                }
            }
        }
        drain();
    }

    /** RFC 6298 5.4-5.7 and RFC 9293 3.8.3 (R2): retransmit, back off, give up after too many. */
    private void onRto(long now) {
        if (state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED) {
            int limit = state == TcpState.SYN_SENT ? cfg.synRetries : cfg.synAckRetries;
            if (++synRetries > limit) {
                stack.count(passive ? Stat.TCP_EMBRYONIC_DROPS : Stat.TCP_TIMEOUT_DROPS);
                enterClosed(passive ? 0 : softError != 0 ? softError : Errno.ETIMEDOUT);
                return;
            }
            rtt.backOff();
            stack.count(Stat.TCP_RTO);
            sendSyn(now, true);
            armRtx(RTX_RTO, now + currentRto());
            return;
        }
        if (sb.isEmpty() || state == TcpState.TIME_WAIT || state == TcpState.CLOSED) return;
        stack.count(Stat.TCP_RTO);
        long userTimeout = options.userTimeout;
        if (rtt.backoff() >= cfg.maxRetransmits || (userTimeout > 0 && now - firstUnackedTime >= userTimeout)) {
            stack.count(Stat.TCP_TIMEOUT_DROPS);
            sendReset(now);
            enterClosed(softError != 0 ? softError : Errno.ETIMEDOUT);
            return;
        }
        // RFC 5681 eq. 4 on the first timeout of an episode; ssthresh is held for later ones.
        if (!rtoRecovery) startUndoEpisode();
        cc.onTimeout(sb.outBytes(), now, !rtoRecovery);
        rtt.backOff();
        sb.markAllLost();
        fastRecovery = false;
        rtoRecovery = true;
        recoveryPoint = sndNxt;
        renoSacked = 0;
        dupAcks = 0;
        tlpOutstanding = false;
        forceRetransmit = true;
        output(now);
        armRtx(RTX_RTO, now + currentRto());
    }

    /** RFC 8985 7.3: the tail loss probe: new data if there is some the window allows, else the last segment again. */
    private void onTlp(long now) {
        if (sb.isEmpty() || !state.isSynchronized()) return;
        int unsent = sndBufSeq + snd.length() - sndNxt;
        long wndRoom = sndWnd - (sndNxt - sndUna);
        if (unsent > 0 && wndRoom > 0) {
            int len = (int) Math.min(Math.min(unsent, maxPayload()), wndRoom);
            boolean fin = finQueued && !finSent && len == unsent;
            sendNew(len, fin, 0, now);
            tlpIsRetrans = false;
        } else {
            int last = sb.count() - 1;
            int maxLen = maxPayload();
            if (sb.dataLength(last) > maxLen) {
                sb.split(last, sb.end(last) - maxLen - ((sb.flags(last) & Scoreboard.FIN) != 0 ? 1 : 0));
                last = sb.count() - 1;
            }
            int seq = sb.start(last);
            int len = sb.dataLength(last);
            boolean fin = (sb.flags(last) & Scoreboard.FIN) != 0;
            if (!buildAndQueue(seq, seq - sndBufSeq, len, Tcp.ACK | (fin ? Tcp.FIN : 0), now, false)) {
                armRtx(RTX_RTO, now + currentRto());
                return;
            }
            sb.markRetransmitted(last, xmitStamp(now));
            retransmits++;
            stack.count(Stat.TCP_SND_REXMIT);
            tlpIsRetrans = true;
        }
        tlpOutstanding = true;
        tlpDsacked = false;
        tlpEnd = sndNxt;
        stack.count(Stat.TCP_TLP);
        armRtx(RTX_RTO, now + currentRto());
    }

    /** RFC 8985 6.3: the reordering window passed; detect again, recover, re-arm. */
    private void onReorderTimeout(long now) {
        if (sb.isEmpty()) return;
        detectLoss(now, false, false);
        output(now);
        if (rtxDeadline == NONE) rearmAfterAck(now);
    }

    /** RFC 9293 3.8.6.1: probe a zero window with one byte of new data (or send what a small window allows). */
    private void onPersist(long now) {
        if (!state.isSynchronized() || state == TcpState.TIME_WAIT) return;
        int unsent = sndBufSeq + snd.length() - sndNxt;
        long wndRoom = sndWnd - (sndNxt - sndUna);
        stack.count(Stat.TCP_PERSIST_TIMEOUTS);
        if (++persistUnanswered > cfg.maxRetransmits) {
            stack.count(Stat.TCP_TIMEOUT_DROPS);
            enterClosed(Errno.ETIMEDOUT);
            return;
        }
        if (wndRoom > 0 && unsent > 0) { // a window too small for Nagle and SWS: send what fits
            sendNew((int) Math.min(Math.min(unsent, maxPayload()), wndRoom), false, 0, now);
            persistBackoff = 0;
            return;
        }
        if (probeOutstanding && !sb.isEmpty()) {
            int last = sb.count() - 1;
            int seq = sb.start(last);
            if (buildAndQueue(seq, seq - sndBufSeq, sb.dataLength(last), Tcp.ACK, now, false)) stack.count(Stat.TCP_SND_PROBES);
        } else if (unsent > 0) {
            int seq = sndNxt;
            if (buildAndQueue(seq, seq - sndBufSeq, 1, Tcp.ACK, now, false)) {
                sb.append(seq, seq + 1, xmitStamp(now), false);
                sndNxt = seq + 1;
                probeOutstanding = true;
                stack.count(Stat.TCP_SND_PROBES);
            }
        } else {
            return;
        }
        persistBackoff++;
        armPersist(now);
    }

    /** RFC 9293 3.8.4, RFC 1122 4.2.3.6: after the idle time, probes at intervals; no answer to all of them drops. */
    private void onKeepalive(long now) {
        if (!options.keepAlive || !(state == TcpState.ESTABLISHED || state == TcpState.CLOSE_WAIT)) return;
        long idle = options.keepIdle > 0 ? options.keepIdle : cfg.keepIdle;
        long interval = options.keepInterval > 0 ? options.keepInterval : cfg.keepInterval;
        int count = options.keepCount > 0 ? options.keepCount : cfg.keepCount;
        long since = now - lastRecvTime;
        if (since < idle) {
            armIdle(IDLE_KEEPALIVE, lastRecvTime + idle);
            return;
        }
        if (keepProbes >= count) {
            stack.count(Stat.TCP_KEEP_DROPS);
            sendReset(now);
            enterClosed(Errno.ETIMEDOUT);
            return;
        }
        // <SEQ=SND.UNA-1><ACK=RCV.NXT>: an old sequence number the peer must answer with an ACK
        if (buildAndQueue(sndUna - 1, 0, 0, Tcp.ACK, now, false)) stack.count(Stat.TCP_KEEP_PROBES);
        keepProbes++;
        armIdle(IDLE_KEEPALIVE, now + interval);
    }

    // =====================================================================================================
    // ICMP (from TcpStack.networkError)
    // =====================================================================================================

    /**
     * A network error about a segment this connection sent, quoting its sequence number. RFC 5927 checks:
     * the sequence number must be in {@code [SND.UNA, SND.NXT)}; a fragmentation-needed message may only lower
     * the path MTU, not below {@link TcpConfig#minPathMtu}.
     */
    void networkError(TcpNetwork.Error e, int mtu, int quotedSeq) {
        synchronized (lock) {
            long now = stack.now();
            if (state == TcpState.CLOSED || state == TcpState.TIME_WAIT) return;
            if (!Seq.in(quotedSeq, sndUna, sndNxt) && !(state == TcpState.SYN_SENT && quotedSeq == iss)) {
                stack.count(Stat.TCP_ICMP_IGNORED);
                return;
            }
            switch (e) {
                case FRAGMENTATION_NEEDED -> pmtuDecrease(mtu, now);
                case PORT_UNREACHABLE, PROTOCOL_UNREACHABLE -> {
                    // RFC 1122 4.2.3.9: hard errors abort a connection being opened; RFC 5461 treats them as soft once established
                    if (state == TcpState.SYN_SENT) enterClosed(Errno.ECONNREFUSED);
                    else softError = Errno.ECONNREFUSED;
                }
                case NET_UNREACHABLE -> softError = Errno.ENETUNREACH;
                case HOST_UNREACHABLE, ADMIN_PROHIBITED -> softError = Errno.EHOSTUNREACH;
                default -> { } // time exceeded, parameter problem: nothing to do
            }
        }
        drain();
    }

    /** RFC 1191 6.3 (and RFC 8201): a smaller path MTU; the segments in flight that no longer fit go again, smaller. */
    private void pmtuDecrease(int mtu, long now) {
        int nh = TcpEndpoint.networkHeader(remoteHigh, remoteLow);
        if (mtu <= 0) { // an old router that sends no MTU (RFC 1191 7): the next plateau down
            mtu = plateauBelow(pathMtu);
        }
        if (mtu >= pathMtu || mtu < Math.max(cfg.minPathMtu, nh + Tcp.MIN_HEADER + 8)) {
            stack.count(Stat.TCP_ICMP_IGNORED);
            return;
        }
        pathMtu = mtu;
        recomputeMss();
        stack.count(Stat.TCP_PMTU_CHANGES);
        if (state.isSynchronized() && sb.markLongerLost(maxPayload()) > 0) {
            forceRetransmit = true;
            output(now); // not congestion: no window reduction (RFC 1191 6.3)
        }
    }

    private static int plateauBelow(int mtu) {
        int[] plateaus = {65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};
        for (int p : plateaus) if (p < mtu) return p;
        return 68;
    }

    /** The path MTU the connection uses now. */
    public int pathMtu() { return pathMtu; }

    /** The largest payload per segment now (SMSS less the fixed options). */
    public int mss() { return mss; }

    // =====================================================================================================
    // State changes, the drainer
    // =====================================================================================================

    private void enterTimeWait(long now) {
        state = TcpState.TIME_WAIT;
        stopRtx();
        idleDeadline = NONE;
        sb.clear();
        snd.release();
        stack.count(Stat.TCP_CLOSED);
        post(TcpUpcall.DISCONNECTED);
        armIdle(IDLE_TIME_WAIT, now + 2 * cfg.msl);
    }

    /** Whether a SYN for this TIME-WAIT connection may start a new one (RFC 6191; RFC 9293 3.6.1). Under the lock. */
    boolean acceptsNewSyn(int seq, Tcp.Options o) {
        if (state != TcpState.TIME_WAIT) return false;
        if (tsOk && o.hasTimestamps && tsRecentValid) return Seq.gt(o.tsVal, tsRecent);
        return Seq.gt(seq, rcvNxt);
    }

    /** The ISN a connection reusing this one's 4-tuple must exceed. */
    int isnFloor() { return sndNxt + 65535 + 2; }

    /** Ends a TIME-WAIT connection early for a new incarnation. */
    void killTimeWait() {
        if (state == TcpState.TIME_WAIT) {
            stack.count(Stat.TCP_TIME_WAIT_REUSED);
            enterClosed(0);
        }
    }

    /** CLOSED: timers stopped, buffers let go, out of the stack's table; the error (if any) for the user. */
    private void enterClosed(int err) {
        TcpState old = state;
        if (old == TcpState.CLOSED) return;
        state = TcpState.CLOSED;
        if (err != 0) {
            error = err;
            post(TcpUpcall.ERROR);
        }
        if (old != TcpState.TIME_WAIT) post(TcpUpcall.DISCONNECTED);
        post(TcpUpcall.READABLE | TcpUpcall.WRITABLE | TcpUpcall.RELEASED);
        if (embryonic && listener != null) listener.halfOpenGone(this);
        embryonic = false;
        release();
    }

    /** Lets go of timers, buffers and the table entry. */
    private void release() {
        rtxDeadline = idleDeadline = NONE;
        dackArmed = false;
        stack.wheel().cancel(rtxTimer);
        stack.wheel().cancel(dackTimer);
        stack.wheel().cancel(idleTimer);
        pacer.cancel();
        rtxWheelAt = idleWheelAt = NONE;
        sb.clear();
        snd.release();
        if (userClosed) {
            rcv.release();
            filtered.release();
        }
        stack.unregister(this);
    }

    private static final int END = TcpUpcall.CANT_RECV_MORE | TcpUpcall.DISCONNECTED | TcpUpcall.ERROR | TcpUpcall.RELEASED;

    private void post(int events) {
        pendingEvents |= events;
        if ((events & END) != 0) endUnheard = true;
    }

    /**
     * Hands the segments built under the lock to the network and the events to the upcall, with no lock
     * held. Called after every unlock that may have left work; one thread drains at a time.
     */
    private void drain() {
        boolean mine = false; // whether this thread is the one draining
        try {
            int ev = 0;
            while (true) {
                Packet tx;
                TcpListener notify;
                boolean dataIn;
                synchronized (lock) {
                    if (!mine && draining) return;
                    if ((ev & END) != 0 && (pendingEvents & END) == 0) {
                        endUnheard = false;
                        if (intercept) post(TcpUpcall.READABLE); // the reader may see the end now
                    }
                    tx = txHead;
                    txHead = txTail = null;
                    ev = pendingEvents;
                    pendingEvents = 0;
                    notify = notifyListener;
                    notifyListener = null;
                    dataIn = intercept && rcv.readable() > 0 && !readShut;
                    // with the lock held: whoever posts work after this drains it
                    mine = tx != null || ev != 0 || notify != null || dataIn;
                    draining = mine;
                    if (!mine) return;
                }
                if (tx != null) transmit(tx);
                TcpUpcall u = upcall;
                // the end comes after the data that came before it, the rest before the data
                if ((ev & ~END) != 0 && u != null) u.events(this, ev & ~END);
                if (notify != null) notify.upcall.acceptable(notify);
                if (dataIn) deliverDataIn(u);
                if ((ev & END) != 0 && u != null) u.events(this, ev & END);
            }
        } finally {
            if (mine) { // a callout threw: let the next caller drain
                synchronized (lock) {
                    draining = false;
                }
            }
        }
    }

    private void transmit(Packet m) {
        TcpNetwork net = stack.network();
        while (m != null) {
            Packet next = m.nextPkt;
            m.nextPkt = null;
            if (net.output(m, localHigh, localLow, remoteHigh, remoteLow) != 0) stack.count(Stat.TCP_SND_ERRORS);
            m = next;
        }
    }

    /** Intercepted data: out of the ring, through {@link TcpUpcall#dataIn}, into the filtered queue. No lock held. */
    private void deliverDataIn(TcpUpcall u) {
        while (true) {
            Packet m;
            synchronized (lock) {
                int n = Math.min(intercept && !readShut ? rcv.readable() : 0, Math.min(mss > 0 ? 16 * mss : 65536, 65536));
                if (n <= 0) return;
                m = stack.buffers().alloc(n);
                if (m == null) {
                    stack.count(Stat.TCP_SND_NO_BUFFERS);
                    return;
                }
                m.setData(m.offset(), n);
                int k = rcv.read(m.segment(), m.offset(), n);
                m.setLength(k);
                if (k == 0) {
                    m.free();
                    return;
                }
                if (state.isSynchronized() && state != TcpState.TIME_WAIT && windowUpdateWorthSending()) {
                    ackNow = true;
                    output(stack.now());
                }
            }
            int r = u == null ? 0 : u.dataIn(this, m, 0);
            if (r == 0) {
                synchronized (lock) {
                    if (!readShut) {
                        filtered.writeAll(m.segment(), m.offset(), m.length());
                        post(TcpUpcall.READABLE);
                    }
                }
                m.free();
            } else if (r != Errno.EJUSTRETURN) {
                m.free();
            }
        }
    }

    // ---- for the stack ----

    /** Aborts without a word to the peer (the stack closes). */
    void kill() {
        synchronized (lock) {
            if (state != TcpState.CLOSED) enterClosed(Errno.ECONNABORTED);
        }
        drain();
    }

    /** Aborts with a reset to the peer (a listener closes with connections it never handed out). */
    void abortFromListener() {
        synchronized (lock) {
            if (state == TcpState.CLOSED) return;
            if (state != TcpState.TIME_WAIT) {
                sendReset(stack.now());
                stack.count(Stat.TCP_DROPS);
            }
            userClosed = true;
            enterClosed(Errno.ECONNABORTED);
        }
        drain();
    }

    /** The current RTO with its backoff (tests). */
    long rtoForTests() { return currentRto(); }
    int backoffForTests() { return rtt.backoff(); }
}
