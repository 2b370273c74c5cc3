package org.kextnet.kernel.inet.tcp;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.Stats;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;

/**
 * Two hosts joined by an in-memory wire, on virtual time: one {@link ManualClock} and one {@link TimerWheel}
 * drive both TCP stacks, and the wire delivers each segment at the time its impairments (loss, delay,
 * jitter, reordering, duplication, a rate limit with a bounded queue) give it, all drawn from one seed. The
 * same seed gives the same run, segment for segment.
 *
 * <p>A host is either a {@link TcpStack} or "raw": a script that sends crafted segments ({@link #inject})
 * and reads what the other host sent ({@link #trace}). Every segment on the wire is decoded into the trace
 * while tracing is on.
 */
final class TcpTestNet implements AutoCloseable {
    static final long MS = 1_000_000L, SECOND = 1_000_000_000L;
    static final int A_IP = Ipv4.parse("10.0.0.1"), B_IP = Ipv4.parse("10.0.0.2");

    final ManualClock clock = new ManualClock(SECOND);
    final TimerWheel wheel = new TimerWheel(clock, MS, 1024);
    final Buffers buffers;
    final Host a, b;
    private final PriorityQueue<Flight> wire = new PriorityQueue<>();
    private long order;
    final List<Seg> trace = new ArrayList<>();
    boolean tracing = true;

    /** Impairments of one direction. Probabilities per segment; times in ns; rate in bytes per second (0: none). */
    record Impairment(double loss, double duplicate, double reorder, long delay, long jitter, long rate, int queueLimit) {
        static final Impairment NONE = new Impairment(0, 0, 0, 0, 0, 0, 0);

        static Impairment delay(long ns) { return new Impairment(0, 0, 0, ns, 0, 0, 0); }

        Impairment withLoss(double p) { return new Impairment(p, duplicate, reorder, delay, jitter, rate, queueLimit); }
        Impairment withDuplicate(double p) { return new Impairment(loss, p, reorder, delay, jitter, rate, queueLimit); }
        Impairment withReorder(double p) { return new Impairment(loss, duplicate, p, delay, jitter, rate, queueLimit); }
        Impairment withJitter(long ns) { return new Impairment(loss, duplicate, reorder, delay, ns, rate, queueLimit); }
        Impairment withRate(long bytesPerSecond, int queue) { return new Impairment(loss, duplicate, reorder, delay, jitter, bytesPerSecond, queue); }
    }

    TcpTestNet() { this(new TcpConfig(), new TcpConfig(), 1); }

    TcpTestNet(TcpConfig ca, TcpConfig cb, long seed) { this(ca, cb, seed, false); }

    TcpTestNet(TcpConfig ca, TcpConfig cb, long seed, boolean bRaw) {
        this.buffers = new Buffers(8192, 256);
        SplittableRandom r = new SplittableRandom(seed);
        this.a = new Host("A", A_IP, ca, r.split(), false);
        this.b = new Host("B", B_IP, cb, r.split(), bRaw);
        a.peer = b;
        b.peer = a;
    }

    /** A net whose B side is a script: only A runs TCP. */
    static TcpTestNet withRawPeer(TcpConfig ca) { return new TcpTestNet(ca, new TcpConfig(), 1, true); }

    long now() { return clock.nanoTime(); }

    /** One endpoint: a TCP stack behind a {@link TcpNetwork} that puts its segments on the wire. */
    final class Host implements TcpNetwork {
        final String name;
        final int ip;
        final Stats stats = new Stats();
        final TcpStack stack;
        final SplittableRandom random;
        Host peer;
        Impairment out = Impairment.NONE;
        int mtu = 1500;
        boolean offload;
        /** Segmentation offload: the largest network packet the "device" takes to segment (0: none). */
        int tsoMax;
        /** The super-segments this host sent (TCP left them to the device to cut), in order. */
        final List<SuperSegment> superSegments = new ArrayList<>();
        long lastDeparture, lastArrival;
        int queued;
        /** Segments a raw host received, oldest first. */
        final List<Seg> received = new ArrayList<>();
        /** When set, outgoing segments that match are dropped (a scripted loss). */
        Predicate<Seg> dropIf;

        Host(String name, int ip, TcpConfig config, SplittableRandom random, boolean raw) {
            this.name = name;
            this.ip = ip;
            this.random = random;
            this.stack = raw ? null : new TcpStack(this, wheel, buffers, stats, config, new java.util.Random(random.nextLong()));
        }

        TcpEndpoint at(int port) { return TcpEndpoint.ipv4(ip, port); }
        long count(Stat s) { return stats.get(s); }

        @Override public int output(Packet m, long srcHigh, long srcLow, long dstHigh, long dstLow) {
            Seg seg = tracing || dropIf != null ? Seg.decode(name, now(), m) : null;
            if (tracing) trace.add(seg);
            if (m.tsoSegmentSize() > 0) {
                superSegments.add(new SuperSegment(seg != null ? seg : Seg.decode(name, now(), m), m.tsoSegmentSize(), m.csumFlags(),
                        Tcp.checksum(m.segment(), m.offset()), Checksum.fold(pseudoHeaderSum(srcHigh, srcLow, dstHigh, dstLow, m.length()))));
            }
            if (dstLow != TcpEndpoint.v4(peer.ip)) { // no such host: lost (a spoofed SYN's SYN-ACK)
                m.free();
                return 0;
            }
            if (dropIf != null && dropIf.test(seg)) {
                m.free();
                return 0;
            }
            send(m, seg);
            return 0;
        }

        private void send(Packet m, Seg seg) {
            Impairment im = out;
            long now = now();
            if (im.loss > 0 && random.nextDouble() < im.loss) {
                m.free();
                return;
            }
            long depart = now;
            if (im.rate > 0) {
                if (im.queueLimit > 0 && queued >= im.queueLimit && lastDeparture > now) {
                    m.free(); // the bottleneck's queue is full: tail drop
                    return;
                }
                depart = Math.max(now, lastDeparture) + (long) ((m.length() + 40) * 1e9 / im.rate);
                lastDeparture = depart;
            }
            long at = depart + im.delay + (im.jitter > 0 ? random.nextLong(im.jitter) : 0);
            at = Math.max(at, lastArrival); // jitter alone does not reorder
            if (im.reorder > 0 && random.nextDouble() < im.reorder) {
                at += Math.max(im.delay, 2 * MS) / 2 + random.nextLong(Math.max(im.delay, 2 * MS)); // held back behind later segments
            } else {
                lastArrival = at;
            }
            if (im.duplicate > 0 && random.nextDouble() < im.duplicate) {
                Packet d = m.dup();
                if (d != null) enqueue(at + random.nextLong(MS), peer, d);
            }
            if (im.rate > 0) queued++;
            enqueue(at, peer, m);
        }

        @Override public long pseudoHeaderSum(long srcHigh, long srcLow, long dstHigh, long dstLow, int tcpLength) {
            return Checksum.pseudoHeader((int) srcLow, (int) dstLow, Ipv4.PROTO_TCP, tcpLength);
        }

        @Override public int routeMtu(long dstHigh, long dstLow) {
            return TcpEndpoint.isV4(dstHigh, dstLow) ? mtu : 0;
        }

        @Override public boolean sourceAddress(long dstHigh, long dstLow, long[] out) {
            out[0] = 0;
            out[1] = TcpEndpoint.v4(ip);
            return true;
        }

        @Override public boolean isLocalAddress(long high, long low) { return high == 0 && low == TcpEndpoint.v4(ip); }

        @Override public boolean checksumOffload(long dstHigh, long dstLow) { return offload; }

        @Override public int segmentOffload(long dstHigh, long dstLow) { return tsoMax; }

        /** Delivers a segment that reached this host. */
        void deliver(Packet m, Host from) {
            if (from.out.rate > 0) from.queued--;
            if (stack == null) {
                received.add(Seg.decode(from.name, now(), m));
                m.free();
                return;
            }
            if (offload) m.setCsumFlags(org.kextnet.kernel.buf.Packet.CSUM_DATA_VALID);
            stack.input(m, 0, TcpEndpoint.v4(from.ip), 0, TcpEndpoint.v4(ip));
        }
    }

    /**
     * A segment TCP built for the device to cut into segments of {@code tsoSize} payload bytes, with its checksum state
     * and checksum field as TCP left them, beside the pseudo-header sum (folded) the field should hold.
     */
    record SuperSegment(Seg seg, int tsoSize, int csumFlags, int checksumField, int pseudoHeaderSum) {}

    private record Flight(long at, long order, Host to, Host from, Packet m) implements Comparable<Flight> {
        @Override public int compareTo(Flight o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(order, o.order);
        }
    }

    private void enqueue(long at, Host to, Packet m) {
        wire.add(new Flight(at, order++, to, to.peer, m));
    }

    /** Segments in flight on the wire. */
    int inFlight() { return wire.size(); }

    /** Runs until {@code done} holds (checked after every event), or fails after {@code limit} of virtual time. */
    void runUntil(BooleanSupplier done, long limit) {
        long end = now() + limit;
        while (!done.getAsBoolean()) {
            if (!step(end)) throw new AssertionError("not done after " + limit / MS + " ms of virtual time (wire " + wire.size() + ", timers " + wheel.size() + ")");
        }
    }

    /** Runs every event up to {@code now() + duration}, then sets the clock there. */
    void runFor(long duration) {
        long end = now() + duration;
        while (step(end)) { }
        if (now() < end) clock.set(end);
        wheel.advance();
    }

    /** Runs until nothing is on the wire and no timer is due before {@code limit}. */
    void settle(long limit) { runFor(limit); }

    /** Executes the next event due by {@code end}: a delivery or a timer. False when there is none. */
    private boolean step(long end) {
        long now = now();
        Flight f = wire.peek();
        if (f != null && f.at <= now) {
            wire.poll();
            f.to.deliver(f.m, f.from);
            return true;
        }
        if (wheel.advance(now) > 0) return true;
        long next = Math.min(f != null ? f.at : Long.MAX_VALUE, wheel.nextDeadline());
        if (next == Long.MAX_VALUE || next > end) return false;
        if (next > now) {
            clock.set(next);
        } else { // a timer due within the current tick: move to the next tick boundary
            long tick = wheel.tickNanos();
            clock.set(now + tick - Math.floorMod(now - SECOND, tick));
        }
        return true;
    }

    /** Delivers a crafted segment from {@code srcIp} (any address) straight into {@code to}'s stack. */
    void injectInto(Host to, int srcIp, Seg.Builder seg) {
        Packet m = seg.build(buffers, srcIp, to.ip);
        to.stack.input(m, 0, TcpEndpoint.v4(srcIp), 0, TcpEndpoint.v4(to.ip));
    }

    /** Sends a crafted segment from the raw host B to A. */
    void inject(Seg.Builder seg) {
        Packet m = seg.build(buffers, B_IP, A_IP);
        if (tracing) trace.add(Seg.decode("B", now(), m));
        a.stack.input(m, 0, TcpEndpoint.v4(B_IP), 0, TcpEndpoint.v4(A_IP));
    }

    /** The segments host {@code name} sent, in order. */
    List<Seg> sentBy(String name) {
        return trace.stream().filter(s -> s.from().equals(name)).toList();
    }

    /** Delivers what is on the wire now, then {@link #takeReceived}. */
    List<Seg> takeReceivedAfter() {
        runFor(0);
        return takeReceived();
    }

    /** What the raw host B received and has not taken yet; clears it. */
    List<Seg> takeReceived() {
        List<Seg> l = new ArrayList<>(b.received);
        b.received.clear();
        return l;
    }

    @Override public void close() {
        if (a.stack != null) a.stack.close();
        if (b.stack != null) b.stack.close();
        wheel.advance(Long.MAX_VALUE / 4);
        for (Flight f : wire) f.m.free(); // last: closing the stacks sent resets
        wire.clear();
    }

    /** Packet buffers in use: 0 once everything is freed (checked at the end of tests). */
    int buffersInUse() { return buffers.small().inUse() + buffers.large().inUse(); }

    /** A decoded segment. */
    record Seg(String from, long time, int srcPort, int dstPort, int flags, int seq, int ack, int window, int len, int headerLength, int mss,
               int wscale, boolean sackPermitted, boolean ts, int tsVal, int tsEcr, int[] sack, int urgent, byte[] data) {
        static Seg decode(String from, long time, Packet m) {
            MemorySegment s = m.segment();
            long o = m.offset();
            Tcp.Options opts = new Tcp.Options();
            opts.parse(s, o);
            int hl = Tcp.headerLength(s, o);
            int len = m.length() - hl;
            byte[] data = new byte[len];
            MemorySegment.copy(s, java.lang.foreign.ValueLayout.JAVA_BYTE, o + hl, data, 0, len);
            int[] sack = java.util.Arrays.copyOf(opts.sack, 2 * opts.sackBlocks);
            return new Seg(from, time, Tcp.srcPort(s, o), Tcp.dstPort(s, o), Tcp.flags(s, o), Tcp.seq(s, o), Tcp.ack(s, o), Tcp.window(s, o), len, hl,
                    opts.mss, opts.windowScale, opts.sackPermitted, opts.hasTimestamps, opts.tsVal, opts.tsEcr, sack,
                    Tcp.urgentPointer(s, o), data);
        }

        boolean has(int flag) { return (flags & flag) != 0; }
        boolean isSyn() { return has(Tcp.SYN); }
        boolean isRst() { return has(Tcp.RST); }
        boolean isFin() { return has(Tcp.FIN); }
        /** A segment with no data and only ACK set. */
        boolean isPureAck() { return len == 0 && (flags & ~Tcp.PSH) == Tcp.ACK; }
        int end() { return seq + len + (isSyn() ? 1 : 0) + (isFin() ? 1 : 0); }

        @Override public String toString() {
            return String.format("%6.3f %s %s seq %d ack %d win %d len %d%s%s", time / 1e6, from, Tcp.formatFlags(flags),
                    Integer.toUnsignedLong(seq), Integer.toUnsignedLong(ack), window, len,
                    sack.length > 0 ? " sack " + java.util.Arrays.toString(sack) : "", ts ? " ts " + Integer.toUnsignedLong(tsVal) + "/" + Integer.toUnsignedLong(tsEcr) : "");
        }

        static Builder of(int flags) { return new Builder(flags); }

        /** A crafted segment. */
        static final class Builder {
            int flags, seq, ack, window = 65535, srcPort = 5000, dstPort = 80, mss = -1, wscale = -1, urgent;
            boolean sackPermitted, ts, badChecksum;
            int tsVal, tsEcr;
            int[] sack = new int[0];
            byte[] data = new byte[0];
            byte[] rawOptions;

            Builder(int flags) { this.flags = flags; }
            Builder seq(int v) { seq = v; return this; }
            Builder ack(int v) { ack = v; return this; }
            Builder window(int v) { window = v; return this; }
            Builder ports(int src, int dst) { srcPort = src; dstPort = dst; return this; }
            Builder mss(int v) { mss = v; return this; }
            Builder wscale(int v) { wscale = v; return this; }
            Builder sackPermitted() { sackPermitted = true; return this; }
            Builder ts(int val, int ecr) { ts = true; tsVal = val; tsEcr = ecr; return this; }
            Builder sack(int... edges) { sack = edges; return this; }
            Builder data(byte[] d) { data = d; return this; }
            Builder urgent(int up) { urgent = up; flags |= Tcp.URG; return this; }
            Builder badChecksum() { badChecksum = true; return this; }
            Builder rawOptions(byte... o) { rawOptions = o; return this; }

            Packet build(Buffers buffers, int src, int dst) {
                int opt = 0;
                if (rawOptions != null) opt = (rawOptions.length + 3) & ~3;
                else {
                    if (mss >= 0) opt += 4;
                    if (wscale >= 0) opt += 4;
                    if (sackPermitted) opt += 4;
                    if (ts) opt += 12;
                    if (sack.length > 0) opt += 4 + 4 * sack.length;
                }
                int hl = 20 + opt;
                Packet m = buffers.alloc(hl + data.length);
                m.setData(m.offset(), hl + data.length);
                MemorySegment s = m.segment();
                long o = m.offset();
                Tcp.write(s, o, srcPort, dstPort, seq, ack, hl, flags, window, urgent);
                long p = o + 20;
                if (rawOptions != null) {
                    for (int i = 0; i < opt; i++) s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, p + i, i < rawOptions.length ? rawOptions[i] : 0);
                } else {
                    if (mss >= 0) p += Tcp.writeMss(s, p, mss);
                    if (wscale >= 0) p += Tcp.writeWindowScale(s, p, wscale);
                    if (sackPermitted) p += Tcp.writeSackPermitted(s, p);
                    if (ts) p += Tcp.writeTimestamps(s, p, tsVal, tsEcr);
                    if (sack.length > 0) p += Tcp.writeSack(s, p, sack, sack.length / 2);
                }
                MemorySegment.copy(data, 0, s, java.lang.foreign.ValueLayout.JAVA_BYTE, o + hl, data.length);
                Tcp.fillChecksum(s, o, hl + data.length, Checksum.pseudoHeader(src, dst, Ipv4.PROTO_TCP, hl + data.length));
                if (badChecksum) Tcp.setChecksum(s, o, Tcp.checksum(s, o) ^ 0x0101);
                return m;
            }
        }
    }

    /** Records what a connection or listener reports, and accepts connections at once when asked to. */
    static class Events implements TcpUpcall, TcpListenUpcall {
        final List<String> log = new ArrayList<>();
        final List<TcpConnection> accepted = new ArrayList<>();
        boolean autoAccept = true;
        int refuse;
        TcpUpcall childUpcall = this;

        @Override public void events(TcpConnection c, int events) { log.add(TcpUpcall.describe(events)); }

        @Override public int connectIn(TcpListener l, TcpEndpoint remote, TcpEndpoint local) { return refuse; }

        @Override public TcpUpcall newConnection(TcpListener l, TcpConnection child) { return childUpcall; }

        @Override public void acceptable(TcpListener l) {
            log.add("acceptable");
            if (!autoAccept) return;
            for (TcpConnection c; (c = l.accept()) != null; ) accepted.add(c);
        }

        /** Whether any delivered event set contained {@code name}. */
        boolean saw(String name) {
            return log.stream().anyMatch(e -> List.of(e.split(",")).contains(name));
        }
    }
}
