package org.kextnet.kernel.inet.tcp;

import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.random.RandomGenerator;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.Stats;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kpi.Errno;

/**
 * TCP for one network stack (BSD's {@code tcp_input}/{@code tcp_usrreq} entry points and the PCB tables):
 * demultiplexes arriving segments to connections and listeners, answers what has no home with a reset
 * (RFC 9293 3.10.7.1), makes connections for listeners (with SYN cookies when a listener's half-open queue
 * is full), owns the local ports, and holds the secrets behind initial sequence numbers (RFC 6528),
 * timestamp offsets (RFC 7323 7.1), ephemeral ports (RFC 6056 algorithm 3) and SYN cookies.
 *
 * <p>The network layer below it is a {@link TcpNetwork}; it calls {@link #input} with each segment for a
 * local address and {@link #networkError} with each ICMP error that quotes a TCP segment. Timers run on the
 * given {@link TimerWheel}, whose clock is TCP's clock. Thread-safe: any number of packet threads may call
 * {@link #input}; the tables are concurrent and each connection has its own lock.
 */
public final class TcpStack implements AutoCloseable {
    public static final int EPHEMERAL_LOW = 49152, EPHEMERAL_HIGH = 65535;
    private static final long COOKIE_PERIOD = 64_000_000_000L;
    /** MSS values a SYN cookie can encode (3 bits), largest last. */
    private static final int[] COOKIE_MSS = {216, 536, 1220, 1300, 1380, 1440, 1460, 8960};

    private final TcpNetwork network;
    private final TimerWheel wheel;
    private final Buffers buffers;
    private final Stats stats;
    private final TcpConfig config;
    private final SipHash isnHash, tsHash, portHash, cookieHash;

    private final ConcurrentHashMap<Key, TcpConnection> connections = new ConcurrentHashMap<>();
    /** Per-thread lookup keys, so that a lookup allocates nothing. */
    private final ThreadLocal<Key> scratch = ThreadLocal.withInitial(Key::new);
    /** The connection the last segment went to: a bulk flow finds its connection without hashing. */
    private volatile TcpConnection lastHit;
    private final AtomicReferenceArray<TcpListener[]> listeners = new AtomicReferenceArray<>(65536);
    /**
     * Explicit binds per local port (bind, listen), for EADDRINUSE. Taking a port (check, then count) holds
     * {@link #portLock}; letting one go only decrements, without it, so that a connection's lock is never held
     * while waiting for it. Lock order: a connection's lock, then portLock, never the reverse.
     */
    private final AtomicIntegerArray portRefs = new AtomicIntegerArray(65536);
    private final Object portLock = new Object();
    private int ephemeralCounter;

    /** A stack with secrets from {@link SecureRandom}. */
    public TcpStack(TcpNetwork network, TimerWheel wheel, Buffers buffers, Stats stats, TcpConfig config) {
        this(network, wheel, buffers, stats, config, new SecureRandom());
    }

    /** A stack whose secrets come from {@code random} (a seeded one makes a test reproducible). */
    public TcpStack(TcpNetwork network, TimerWheel wheel, Buffers buffers, Stats stats, TcpConfig config, RandomGenerator random) {
        this.network = network;
        this.wheel = wheel;
        this.buffers = buffers;
        this.stats = stats;
        this.config = config;
        this.isnHash = new SipHash(random.nextLong(), random.nextLong());
        this.tsHash = new SipHash(random.nextLong(), random.nextLong());
        this.portHash = new SipHash(random.nextLong(), random.nextLong());
        this.cookieHash = new SipHash(random.nextLong(), random.nextLong());
        this.ephemeralCounter = random.nextInt(EPHEMERAL_HIGH - EPHEMERAL_LOW + 1);
    }

    public TcpConfig config() { return config; }
    public TcpNetwork network() { return network; }
    public TimerWheel wheel() { return wheel; }
    public Buffers buffers() { return buffers; }
    public Stats stats() { return stats; }
    long now() { return wheel.clock().nanoTime(); }

    void count(Stat s) { stats.add(s, 1); }
    void add(Stat s, long n) { stats.add(s, n); }

    // =====================================================================================================
    // Requests
    // =====================================================================================================

    /** A new connection in CLOSED, with the system's options; {@link TcpConnection#connect} opens it. */
    public TcpConnection open(TcpUpcall upcall) { return open(upcall, new TcpSocketOptions()); }

    /** A new connection in CLOSED with these options (the connection keeps {@code options}). */
    public TcpConnection open(TcpUpcall upcall, TcpSocketOptions options) {
        return new TcpConnection(this, options, upcall);
    }

    /**
     * Listens on {@code local} (the wildcard address for all of this host's; port 0 for an ephemeral one).
     * @param template the options connections made for it start with: kept, not copied, and copied into each
     *                 connection as it is made, so that an option set on the listening socket later applies to the
     *                 connections made after (as in BSD and Linux)
     * @throws TcpException EADDRINUSE, EADDRNOTAVAIL
     */
    public TcpListener listen(TcpEndpoint local, int backlog, TcpSocketOptions template, TcpListenUpcall upcall)
            throws TcpException {
        checkLocal(local.high(), local.low());
        synchronized (portLock) {
            int port = local.port();
            if (port == 0) port = freePort();
            TcpListener[] old = listeners.get(port);
            if (old != null) {
                for (TcpListener l : old) {
                    if (overlaps(l.localHigh, l.localLow, local.high(), local.low())) {
                        throw new TcpException(Errno.EADDRINUSE, "port " + port + " is listened on");
                    }
                }
            }
            TcpListener l = new TcpListener(this, local.high(), local.low(), port, backlog, template, upcall);
            TcpListener[] now = old == null ? new TcpListener[1] : java.util.Arrays.copyOf(old, old.length + 1);
            now[now.length - 1] = l;
            listeners.set(port, now);
            portRefs.incrementAndGet(port);
            return l;
        }
    }

    void removeListener(TcpListener l) {
        synchronized (portLock) {
            TcpListener[] old = listeners.get(l.localPort);
            if (old == null) return;
            List<TcpListener> rest = new ArrayList<>(List.of(old));
            if (!rest.remove(l)) return;
            listeners.set(l.localPort, rest.isEmpty() ? null : rest.toArray(new TcpListener[0]));
            portRefs.decrementAndGet(l.localPort);
        }
    }

    private void checkLocal(long high, long low) throws TcpException {
        if (!TcpEndpoint.isWildcard(high, low) && !network.isLocalAddress(high, low)) {
            throw new TcpException(Errno.EADDRNOTAVAIL, TcpEndpoint.formatAddress(high, low) + " is not an address of this host");
        }
    }

    /** Whether two local addresses can both receive a packet (the same, or either a matching wildcard). */
    private static boolean overlaps(long h1, long l1, long h2, long l2) {
        if (h1 == h2 && l1 == l2) return true;
        boolean w1 = TcpEndpoint.isWildcard(h1, l1), w2 = TcpEndpoint.isWildcard(h2, l2);
        if (w1 && (h1 == 0 && l1 == 0)) return true; // :: takes every family
        if (w2 && (h2 == 0 && l2 == 0)) return true;
        if (w1) return TcpEndpoint.isV4(h2, l2);
        if (w2) return TcpEndpoint.isV4(h1, l1);
        return false;
    }

    /** An ephemeral port nobody has bound or listens on. Under portLock. */
    private int freePort() throws TcpException {
        int range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
        for (int i = 0; i < range; i++) {
            int p = EPHEMERAL_LOW + Math.floorMod(ephemeralCounter++, range);
            if (portRefs.get(p) == 0 && listeners.get(p) == null) return p;
        }
        throw new TcpException(Errno.EADDRINUSE, "no free port");
    }

    /** {@link TcpConnection#bind}. Under the connection's lock. */
    void bindConnection(TcpConnection c, TcpEndpoint local) throws TcpException {
        checkLocal(local.high(), local.low());
        synchronized (portLock) {
            int port = local.port();
            if (port == 0) {
                port = freePort();
            } else {
                TcpListener[] ls = listeners.get(port);
                boolean listened = false;
                if (ls != null) for (TcpListener l : ls) listened |= overlaps(l.localHigh, l.localLow, local.high(), local.low());
                if (listened || portRefs.get(port) > 0) throw new TcpException(Errno.EADDRINUSE, "port " + port + " is in use");
            }
            portRefs.incrementAndGet(port);
            c.bound = true;
            c.localHigh = local.high();
            c.localLow = local.low();
            c.localPort = port;
        }
    }

    /**
     * {@link TcpConnection#connect}'s bookkeeping: the source address (from the route if unbound), an
     * ephemeral port (RFC 6056 algorithm 3) if none, a unique 4-tuple, and the table entry. Under the
     * connection's lock.
     */
    void connectConnection(TcpConnection c, long rHigh, long rLow, int rPort) throws TcpException {
        if (network.routeMtu(rHigh, rLow) <= 0) throw new TcpException(Errno.ENETUNREACH, "no route to " + TcpEndpoint.formatAddress(rHigh, rLow));
        long lh = c.localHigh, ll = c.localLow;
        if (c.localPort == 0 || TcpEndpoint.isWildcard(lh, ll)) {
            long[] src = new long[2];
            if (!network.sourceAddress(rHigh, rLow, src)) throw new TcpException(Errno.ENETUNREACH, "no route");
            lh = src[0];
            ll = src[1];
        }
        for (int attempt = 0; ; attempt++) {
            TcpConnection old;
            synchronized (portLock) {
                int port = c.localPort;
                if (port == 0) {
                    int range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
                    int offset = (int) (portHash.hash(lh, ll, rHigh, rLow, rPort) & 0x7fffffff);
                    for (int i = 0; i < range && port == 0; i++) {
                        int p = EPHEMERAL_LOW + Math.floorMod(offset + ephemeralCounter + i, range);
                        if (portRefs.get(p) == 0 && listeners.get(p) == null && !connections.containsKey(new Key().set(lh, ll, p, rHigh, rLow, rPort))) {
                            port = p;
                            ephemeralCounter += i + 1;
                        }
                    }
                    if (port == 0) throw new TcpException(Errno.EADDRNOTAVAIL, "no free port towards " + TcpEndpoint.formatAddress(rHigh, rLow));
                }
                Key k = new Key().set(lh, ll, port, rHigh, rLow, rPort);
                old = connections.get(k);
                if (old == null) {
                    c.localHigh = lh;
                    c.localLow = ll;
                    c.localPort = port;
                    c.remoteHigh = rHigh;
                    c.remoteLow = rLow;
                    c.remotePort = rPort;
                    c.key = k;
                    if (connections.putIfAbsent(k, c) == null) {
                        c.inTable = true;
                        return;
                    }
                    old = connections.get(k); // a connection for the tuple appeared meanwhile
                    if (old == null) continue;
                }
            }
            // The 4-tuple is taken: only by a TIME-WAIT connection may it be reused (its end goes first),
            // and that connection's lock is taken without portLock held.
            if (attempt > 0 || !reuseTimeWait(old, c)) throw new TcpException(Errno.EADDRINUSE, "the connection exists");
        }
    }

    /**
     * An active open onto a 4-tuple in TIME-WAIT: the old incarnation goes, and the new one's ISN starts
     * beyond every sequence number the old one used (as Linux's tcp_tw_reuse does).
     */
    private boolean reuseTimeWait(TcpConnection old, TcpConnection c) {
        synchronized (old.lock) {
            if (old.state() != TcpState.TIME_WAIT) return false;
            c.isnFloor = old.isnFloor();
            old.killTimeWait();
        }
        return true;
    }

    /** Out of the table and the port counts (CLOSED). Under the connection's lock. */
    void unregister(TcpConnection c) {
        if (c.inTable) {
            connections.remove(c.key, c);
            c.inTable = false;
        }
        if (lastHit == c) lastHit = null;
        if (c.bound) {
            portRefs.decrementAndGet(c.localPort);
            c.bound = false;
        }
    }

    /** Every connection in the table, as a snapshot (a {@code netstat} listing). */
    public List<TcpInfo> connections() {
        List<TcpInfo> out = new ArrayList<>();
        for (TcpConnection c : connections.values()) out.add(c.info());
        return out;
    }

    /** Every listener's local end. */
    public List<TcpEndpoint> listeners() {
        List<TcpEndpoint> out = new ArrayList<>();
        for (int p = 0; p < 65536; p++) {
            TcpListener[] ls = listeners.get(p);
            if (ls != null) for (TcpListener l : ls) out.add(l.local());
        }
        return out;
    }

    public int connectionCount() { return connections.size(); }

    /** Resets every listener and drops every connection without a word (the stack goes away). */
    @Override public void close() {
        for (int p = 0; p < 65536; p++) {
            TcpListener[] ls = listeners.get(p);
            if (ls != null) for (TcpListener l : ls) l.close();
        }
        for (TcpConnection c : List.copyOf(connections.values())) c.kill();
    }

    // =====================================================================================================
    // Secrets
    // =====================================================================================================

    /** RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a 4 µs clock. */
    int isn(TcpConnection c) {
        return (int) (now() / 4000) + (int) isnHash.hash(c.localHigh, c.localLow, c.remoteHigh, c.remoteLow,
                (long) c.localPort << 16 | c.remotePort);
    }

    /** RFC 7323 7.1: a per-connection random offset of the timestamp clock. */
    int tsOffset(TcpConnection c) {
        return tsOffset(c.localHigh, c.localLow, c.localPort, c.remoteHigh, c.remoteLow, c.remotePort);
    }

    private int tsOffset(long lh, long ll, int lp, long rh, long rl, int rp) {
        return (int) tsHash.hash(lh, ll, rh, rl, (long) lp << 16 | rp);
    }

    // =====================================================================================================
    // Input
    // =====================================================================================================

    /**
     * A segment for this host from {@code src} to {@code dst} (the network layer has checked that {@code dst}
     * is a local unicast address: RFC 9293 MUST-57 drops SYNs to broadcast and multicast there). {@code m}'s
     * data is the TCP header and payload; the checksum is checked here unless {@code m} carries
     * {@code CSUM_DATA_VALID}. Always takes ownership.
     */
    public void input(Packet m, long srcHigh, long srcLow, long dstHigh, long dstLow) {
        count(Stat.TCP_RCV_TOTAL);
        if (m.next() != null && m.pullup(m.packetLength()) != 0) {
            count(Stat.TCP_RCV_BAD_HEADER);
            m.free();
            return;
        }
        MemorySegment s = m.segment();
        long o = m.offset();
        int len = m.length();
        if (Tcp.check(s, o, len) != 0) {
            count(Stat.TCP_RCV_BAD_HEADER);
            m.free();
            return;
        }
        if ((m.csumFlags() & org.kextnet.kernel.buf.Packet.CSUM_DATA_VALID) == 0
                && Tcp.computeChecksum(s, o, len, network.pseudoHeaderSum(srcHigh, srcLow, dstHigh, dstLow, len)) != 0) {
            count(Stat.TCP_RCV_BAD_SUM);
            m.free();
            return;
        }
        int sport = Tcp.srcPort(s, o), dport = Tcp.dstPort(s, o);
        int flags = Tcp.flags(s, o);
        if (sport == 0 || dport == 0) { // port 0 is reserved; nothing listens there
            count(Stat.TCP_RCV_BAD_HEADER);
            m.free();
            return;
        }
        TcpConnection c = lookup(dstHigh, dstLow, dport, srcHigh, srcLow, sport);
        int isnFloor = 0;
        if (c != null) {
            if ((flags & (Tcp.SYN | Tcp.ACK | Tcp.RST)) == Tcp.SYN && c.state() == TcpState.TIME_WAIT) {
                isnFloor = timeWaitSyn(c, m);
                if (isnFloor == 0) {
                    c.input(m);
                    return;
                }
            } else {
                c.input(m);
                return;
            }
        }
        TcpListener l = findListener(dstHigh, dstLow, dport);
        if (l != null) {
            listenInput(l, m, srcHigh, srcLow, sport, dstHigh, dstLow, dport, flags, isnFloor);
            return;
        }
        count(Stat.TCP_NO_PORT);
        replyReset(m, srcHigh, srcLow, sport, dstHigh, dstLow, dport, flags);
        m.free();
    }

    /** A SYN for a TIME-WAIT connection: the new ISN floor if it may replace it (RFC 6191), else 0. */
    private int timeWaitSyn(TcpConnection c, Packet m) {
        Tcp.Options o = new Tcp.Options();
        if (!o.parse(m.segment(), m.offset())) return 0;
        synchronized (c.lock) {
            if (!c.acceptsNewSyn(Tcp.seq(m.segment(), m.offset()), o)) return 0;
            int floor = c.isnFloor();
            c.killTimeWait();
            return floor == 0 ? 1 : floor;
        }
    }

    private TcpConnection lookup(long lh, long ll, int lp, long rh, long rl, int rp) {
        TcpConnection h = lastHit;
        if (h != null && h.localPort == lp && h.remotePort == rp && h.remoteLow == rl && h.localLow == ll
                && h.remoteHigh == rh && h.localHigh == lh && h.inTable) {
            return h;
        }
        TcpConnection c = connections.get(scratch.get().set(lh, ll, lp, rh, rl, rp));
        if (c != null) lastHit = c;
        return c;
    }

    private TcpListener findListener(long h, long l, int port) {
        TcpListener[] ls = listeners.get(port);
        if (ls == null) return null;
        TcpListener wildcard = null;
        for (TcpListener x : ls) {
            if (x.isClosed()) continue;
            if (x.localHigh == h && x.localLow == l) return x;
            if (TcpEndpoint.isWildcard(x.localHigh, x.localLow)
                    && ((x.localHigh == 0 && x.localLow == 0) || TcpEndpoint.isV4(h, l))) wildcard = x;
        }
        return wildcard;
    }

    /** RFC 9293 3.10.7.2, LISTEN state; SYN cookies. Takes ownership of {@code m}. */
    private void listenInput(TcpListener l, Packet m, long rh, long rl, int rp, long lh, long ll, int lp, int flags, int isnFloor) {
        try {
            MemorySegment s = m.segment();
            long o = m.offset();
            if ((flags & Tcp.RST) != 0) return; // first: an incoming RST is ignored
            if ((flags & Tcp.ACK) != 0) { // second: an ACK: a SYN cookie's, or bad (reset <SEQ=SEG.ACK>)
                if ((flags & Tcp.SYN) == 0 && config.synCookies && now() - l.lastCookie < 2 * COOKIE_PERIOD
                        && cookieAck(l, m, rh, rl, rp, lh, ll, lp)) {
                    m = null; // the new connection took it
                    return;
                }
                replyReset(m, rh, rl, rp, lh, ll, lp, flags);
                return;
            }
            if ((flags & Tcp.SYN) == 0) return; // fourth: anything else is dropped
            Tcp.Options opts = new Tcp.Options();
            if (!opts.parse(s, o)) {
                count(Stat.TCP_RCV_BAD_OPTIONS);
                return;
            }
            if (l.acceptQueueFull()) {
                count(Stat.TCP_LISTEN_OVERFLOWS);
                return;
            }
            if (l.halfOpenFull()) {
                if (config.synCookies) sendCookie(l, s, o, opts, rh, rl, rp, lh, ll, lp);
                else count(Stat.TCP_LISTEN_OVERFLOWS);
                return;
            }
            TcpConnection c = newChild(l, rh, rl, rp, lh, ll, lp);
            if (c == null) return;
            if (!l.addHalfOpen(c)) {
                unregister(c);
                count(Stat.TCP_LISTEN_OVERFLOWS);
                return;
            }
            c.openFromSyn(l, m, opts, isnFloor);
        } finally {
            if (m != null) m.free();
        }
    }

    /** The connect-in hook, the connection and its upcall, its table entry; null if refused or raced. */
    private TcpConnection newChild(TcpListener l, long rh, long rl, int rp, long lh, long ll, int lp) {
        TcpEndpoint remote = new TcpEndpoint(rh, rl, rp), local = new TcpEndpoint(lh, ll, lp);
        int r = l.upcall.connectIn(l, remote, local);
        if (r != 0) {
            count(Stat.TCP_LISTEN_REFUSED);
            return null;
        }
        TcpConnection c = new TcpConnection(this, l.template(), null);
        c.localHigh = lh;
        c.localLow = ll;
        c.localPort = lp;
        c.remoteHigh = rh;
        c.remoteLow = rl;
        c.remotePort = rp;
        c.listener = l;
        c.setUpcall(l.upcall.newConnection(l, c));
        Key k = new Key().set(lh, ll, lp, rh, rl, rp);
        c.key = k;
        if (connections.putIfAbsent(k, c) != null) return null; // another thread made it first
        c.inTable = true;
        return c;
    }

    // ---- SYN cookies: ISS = t (5 bits) | MSS index (3) | 24 bits of SipHash(tuple, t, the peer's ISN) ----

    private int cookieHash(long lh, long ll, int lp, long rh, long rl, int rp, int irs, long t) {
        return (int) cookieHash.hash(lh ^ t * 0x9E3779B97F4A7C15L, ll, rh, rl, (long) lp << 48 | (long) rp << 32 | irs & 0xffffffffL) & 0xffffff;
    }

    private void sendCookie(TcpListener l, MemorySegment s, long o, Tcp.Options opts, long rh, long rl, int rp,
                            long lh, long ll, int lp) {
        long now = now();
        l.lastCookie = now;
        int irs = Tcp.seq(s, o);
        int peerMss = opts.mss > 0 ? opts.mss : (TcpEndpoint.isV4(rh, rl) ? 536 : 1220);
        int idx = 0;
        for (int i = COOKIE_MSS.length - 1; i >= 0; i--) {
            if (COOKIE_MSS[i] <= peerMss) { idx = i; break; }
        }
        long t = now / COOKIE_PERIOD;
        int iss = (int) ((t & 0x1f) << 27) | idx << 24 | cookieHash(lh, ll, lp, rh, rl, rp, irs, t);
        TcpSocketOptions tmpl = l.template();
        boolean ts = config.timestamps && opts.hasTimestamps;
        boolean sack = config.sack && opts.sackPermitted && ts; // kept in the timestamp, so only with one
        boolean ws = config.windowScaling && opts.windowScale >= 0 && ts;
        int rcvScale = ws ? TcpConnection.receiveScale(config, tmpl) : 0;
        int window = Math.min(TcpConnection.receiveBufferBase(config, tmpl), 65535);
        int nh = TcpEndpoint.networkHeader(rh, rl);
        int mtu = network.routeMtu(rh, rl);
        int advMss = Math.min(Math.max(64, (mtu > 0 ? mtu : 576) - nh - Tcp.MIN_HEADER), 65535);
        if (tmpl.maxSegment > 0) advMss = Math.min(advMss, tmpl.maxSegment);
        int optLen = Tcp.synOptionsLength(ws, sack, ts);
        int hl = Tcp.MIN_HEADER + optLen;
        Packet m = buffers.alloc(hl);
        if (m == null) {
            count(Stat.TCP_SND_NO_BUFFERS);
            return;
        }
        m.setData(m.offset(), hl);
        MemorySegment ms = m.segment();
        long mo = m.offset();
        Tcp.write(ms, mo, lp, rp, iss, irs + 1, hl, Tcp.SYN | Tcp.ACK, window, 0);
        long p = mo + Tcp.MIN_HEADER;
        int tsVal = 0;
        if (ts) {
            // Linux's encoding: the options the cookie cannot hold ride in the low 6 bits of our timestamp
            int tsNow = (int) (now / 1_000_000L) + tsOffset(lh, ll, lp, rh, rl, rp);
            int bits = (ws ? opts.windowScale : 0xf) | (sack ? 0x10 : 0);
            tsVal = (tsNow & ~0x3f) | bits;
            if (Integer.compareUnsigned(tsVal, tsNow) > 0) tsVal -= 64;
        }
        Tcp.writeSynOptions(ms, p, advMss, ws ? rcvScale : -1, sack, ts, tsVal, opts.tsVal);
        if (!network.checksumOffload(rh, rl)) Tcp.fillChecksum(ms, mo, hl, network.pseudoHeaderSum(lh, ll, rh, rl, hl));
        count(Stat.TCP_SYNCOOKIES_SENT);
        count(Stat.TCP_SND_TOTAL);
        if (network.output(m, lh, ll, rh, rl) != 0) count(Stat.TCP_SND_ERRORS);
    }

    /** An ACK that may complete a SYN cookie's handshake: if valid, a connection takes {@code m}; true then. */
    private boolean cookieAck(TcpListener l, Packet m, long rh, long rl, int rp, long lh, long ll, int lp) {
        MemorySegment s = m.segment();
        long o = m.offset();
        int iss = Tcp.ack(s, o) - 1, irs = Tcp.seq(s, o) - 1;
        long t = now() / COOKIE_PERIOD;
        int idx = -1;
        for (int d = 0; d < 2 && idx < 0; d++) { // this period or the last: a cookie lives 64 to 128 s
            long tt = t - d;
            if ((tt & 0x1f) == (iss >>> 27) && (iss & 0xffffff) == cookieHash(lh, ll, lp, rh, rl, rp, irs, tt)) idx = iss >>> 24 & 7;
        }
        if (idx < 0) {
            count(Stat.TCP_SYNCOOKIES_FAILED);
            return false;
        }
        Tcp.Options opts = new Tcp.Options();
        if (!opts.parse(s, o)) return false;
        int wscale = -1;
        boolean sack = false, ts = false;
        if (opts.hasTimestamps && config.timestamps) {
            ts = true;
            int bits = opts.tsEcr & 0x3f;
            if ((bits & 0xf) != 0xf && config.windowScaling) wscale = Math.min(bits & 0xf, Tcp.MAX_WSCALE);
            sack = (bits & 0x10) != 0 && config.sack;
        }
        if (!l.hasRoom()) {
            count(Stat.TCP_LISTEN_OVERFLOWS);
            m.free(); // dropped: the peer's next segment tries again
            return true;
        }
        TcpConnection c = newChild(l, rh, rl, rp, lh, ll, lp);
        if (c == null) return false;
        count(Stat.TCP_SYNCOOKIES_ACCEPTED);
        c.openFromCookie(l, m, irs, iss, COOKIE_MSS[idx], wscale, sack, ts, opts.tsVal);
        return true;
    }

    /** RFC 9293 3.10.7.1: the reset for a segment nobody takes (never for a RST). */
    private void replyReset(Packet m, long rh, long rl, int rp, long lh, long ll, int lp, int flags) {
        if ((flags & Tcp.RST) != 0) return;
        MemorySegment s = m.segment();
        long o = m.offset();
        if ((flags & Tcp.ACK) != 0) {
            sendReset(lh, ll, lp, rh, rl, rp, Tcp.ack(s, o), 0, false);
        } else {
            int segLen = m.length() - Tcp.headerLength(s, o) + ((flags & Tcp.SYN) != 0 ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
            sendReset(lh, ll, lp, rh, rl, rp, 0, Tcp.seq(s, o) + segLen, true);
        }
    }

    /** Sends a bare RST (with ACK if {@code withAck}) from the local end to the remote one. */
    void sendReset(long lh, long ll, int lp, long rh, long rl, int rp, int seq, int ack, boolean withAck) {
        Packet m = buffers.alloc(Tcp.MIN_HEADER);
        if (m == null) {
            count(Stat.TCP_SND_NO_BUFFERS);
            return;
        }
        m.setData(m.offset(), Tcp.MIN_HEADER);
        MemorySegment s = m.segment();
        long o = m.offset();
        Tcp.write(s, o, lp, rp, seq, withAck ? ack : 0, Tcp.MIN_HEADER, Tcp.RST | (withAck ? Tcp.ACK : 0), 0, 0);
        if (!network.checksumOffload(rh, rl)) Tcp.fillChecksum(s, o, Tcp.MIN_HEADER, network.pseudoHeaderSum(lh, ll, rh, rl, Tcp.MIN_HEADER));
        count(Stat.TCP_SND_RST);
        count(Stat.TCP_SND_TOTAL);
        if (network.output(m, lh, ll, rh, rl) != 0) count(Stat.TCP_SND_ERRORS);
    }

    // =====================================================================================================
    // ICMP
    // =====================================================================================================

    /**
     * An ICMP (or ICMPv6) error about a segment this host sent from {@code src} to {@code dst}: {@code quoted}
     * holds at least the first 8 bytes of its TCP header (ports and sequence number, all RFC 792 promises).
     * {@code mtu} is the next-hop MTU of a fragmentation-needed error (0 if the router gave none). Does not
     * take ownership of {@code quoted}.
     */
    public void networkError(TcpNetwork.Error error, int mtu, long srcHigh, long srcLow, long dstHigh, long dstLow,
                             MemorySegment quoted, long off, int len) {
        if (len < 8) {
            count(Stat.TCP_ICMP_IGNORED);
            return;
        }
        int sport = Tcp.srcPort(quoted, off), dport = Tcp.dstPort(quoted, off), seq = Tcp.seq(quoted, off);
        TcpConnection c = lookup(srcHigh, srcLow, sport, dstHigh, dstLow, dport);
        if (c == null) {
            count(Stat.TCP_ICMP_IGNORED);
            return;
        }
        c.networkError(error, mtu, seq);
    }

    /** A connection's key in the table: the 4-tuple. Mutable only for the per-thread lookup keys. */
    static final class Key {
        long lh, ll, rh, rl;
        int lp, rp, hash;

        Key set(long lh, long ll, int lp, long rh, long rl, int rp) {
            this.lh = lh;
            this.ll = ll;
            this.lp = lp;
            this.rh = rh;
            this.rl = rl;
            this.rp = rp;
            long h = ll * 0x9E3779B97F4A7C15L ^ rl * 0xC2B2AE3D27D4EB4FL ^ lh ^ rh * 31 ^ ((long) lp << 16 | rp) * 0x165667B19E3779F9L;
            this.hash = (int) (h ^ h >>> 32);
            return this;
        }

        @Override public int hashCode() { return hash; }

        @Override public boolean equals(Object o) {
            return o instanceof Key k && k.lp == lp && k.rp == rp && k.ll == ll && k.rl == rl && k.lh == lh && k.rh == rh;
        }
    }
}
