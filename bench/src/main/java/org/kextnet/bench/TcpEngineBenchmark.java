package org.kextnet.bench;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.tcp.TcpConfig;
import org.kextnet.kernel.inet.tcp.TcpConnection;
import org.kextnet.kernel.inet.tcp.TcpEndpoint;
import org.kextnet.kernel.inet.tcp.TcpListenUpcall;
import org.kextnet.kernel.inet.tcp.TcpListener;
import org.kextnet.kernel.inet.tcp.TcpNetwork;
import org.kextnet.kernel.inet.tcp.TcpSocketOptions;
import org.kextnet.kernel.inet.tcp.TcpStack;
import org.kextnet.kernel.inet.tcp.TcpState;
import org.kextnet.kernel.inet.tcp.TcpUpcall;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.Stats;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * TCP engine to TCP engine in memory, one flow, one thread: one operation moves 1 MiB from the client's
 * {@code write} to the server's {@code read} (user buffer to send ring to packet buffer, checksum, segment
 * processing, packet buffer to receive ring to user buffer; every ACK the other way). The two stacks are
 * joined by a pipe that hands each segment to the other stack's {@code input} (no IP, no link: the engine
 * alone). Time is a manual clock, moved to the next timer only when nothing else can move, so the
 * engine sees a zero-delay path. Run with {@code -prof gc}: {@code gc.alloc.rate.norm} per operation over
 * the segments per operation printed at the end is the allocation per segment.
 *
 * <p>{@link #memcpy1MiB} is the same run's ceiling: one {@code MemorySegment.copy} of 1 MiB between heap
 * arrays. The engine copies each byte four times (write, segment, receive ring, read) and, without
 * checksum offload, sums it twice.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-XX:MaxInlineLevel=30"})
@State(Scope.Thread)
public class TcpEngineBenchmark {
    static final int CHUNK = 1 << 20;
    static final int A = Ipv4.parse("10.0.0.1"), B = Ipv4.parse("10.0.0.2");

    /** The link MTU: Ethernet's, or a large one (the stack-to-stack goal is stated for it). */
    @Param({"1500", "65000"})
    public int mtu;

    /** Whether the memory wire promises integrity, so TCP neither fills nor checks checksums (as loopback). */
    @Param({"false", "true"})
    public boolean checksumOffload;

    private ManualClock clock;
    private TimerWheel wheel;
    private Buffers buffers;
    private Pipe toB, toA;
    private TcpStack sa, sb;
    private Stats statsA, statsB;
    private TcpConnection client, server;
    private final ByteBuffer src = ByteBuffer.allocate(CHUNK), dst = ByteBuffer.allocate(256 * 1024);
    private final byte[] copyFrom = new byte[CHUNK], copyTo = new byte[CHUNK];
    private long ops;

    /** One direction of the in-memory path: a FIFO of segments for the other stack. */
    static final class Pipe implements TcpNetwork {
        final ArrayDeque<Packet> queue = new ArrayDeque<>(8192);
        final int self;
        int mtu;
        boolean offload;
        TcpStack to;

        Pipe(int self) { this.self = self; }

        @Override public int output(Packet segment, long srcHigh, long srcLow, long dstHigh, long dstLow) {
            queue.addLast(segment);
            return 0;
        }

        @Override public long pseudoHeaderSum(long srcHigh, long srcLow, long dstHigh, long dstLow, int tcpLength) {
            return Checksum.pseudoHeader((int) srcLow, (int) dstLow, Ipv4.PROTO_TCP, tcpLength);
        }

        @Override public int routeMtu(long dstHigh, long dstLow) { return mtu; }

        @Override public boolean sourceAddress(long dstHigh, long dstLow, long[] out) {
            out[0] = 0;
            out[1] = TcpEndpoint.v4(self);
            return true;
        }

        @Override public boolean isLocalAddress(long high, long low) { return low == TcpEndpoint.v4(self); }

        @Override public boolean checksumOffload(long dstHigh, long dstLow) { return offload; }

        /** Hands every queued segment to the other stack; returns how many. */
        int deliver(int peer) {
            int n = 0;
            for (Packet m; (m = queue.pollFirst()) != null; n++) {
                if (offload) m.setCsumFlags(org.kextnet.kernel.buf.Packet.CSUM_DATA_VALID);
                to.input(m, 0, TcpEndpoint.v4(self), 0, TcpEndpoint.v4(peer));
            }
            return n;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        clock = new ManualClock(1_000_000_000L);
        wheel = new TimerWheel(clock, TimerWheel.DEFAULT_TICK_NANOS, 1024);
        buffers = new Buffers(16384, 1024);
        toB = new Pipe(A);
        toA = new Pipe(B);
        for (Pipe p : new Pipe[] {toA, toB}) {
            p.mtu = mtu;
            p.offload = checksumOffload;
        }
        TcpConfig cfg = new TcpConfig();
        statsA = new Stats();
        statsB = new Stats();
        sa = new TcpStack(toB, wheel, buffers, statsA, cfg, new java.util.Random(1));
        sb = new TcpStack(toA, wheel, buffers, statsB, cfg, new java.util.Random(2));
        toB.to = sb;
        toA.to = sa;
        TcpConnection[] accepted = new TcpConnection[1];
        sb.listen(TcpEndpoint.ipv4(B, 80), 4, new TcpSocketOptions(), new TcpListenUpcall() {
            @Override public TcpUpcall newConnection(TcpListener l, TcpConnection child) { return null; }
            @Override public void acceptable(TcpListener l) { accepted[0] = l.accept(); }
        });
        client = sa.open(null);
        client.connect(TcpEndpoint.ipv4(B, 80));
        while (accepted[0] == null || client.state() != TcpState.ESTABLISHED) settle();
        server = accepted[0];
    }

    /** Delivers until both pipes are empty; if nothing moved, moves the clock to the next timer. */
    private void settle() {
        int moved = 0;
        int n;
        do {
            n = toB.deliver(B) + toA.deliver(A);
            moved += n;
        } while (n > 0);
        if (moved == 0) {
            long next = wheel.nextDeadline();
            if (next != Long.MAX_VALUE && next > clock.nanoTime()) clock.set(next + wheel.tickNanos());
            wheel.advance();
        }
    }

    /** Moves 1 MiB from the client to the server. */
    @Benchmark
    public long transfer1MiB() throws Exception {
        src.clear();
        long got = 0;
        while (got < CHUNK) {
            if (src.hasRemaining()) client.write(src);
            int n = toB.deliver(B) + toA.deliver(A);
            dst.clear();
            int r = server.read(dst);
            if (r > 0) got += r;
            if (n == 0 && r <= 0) settle();
        }
        ops++;
        return got;
    }

    /** The ceiling: one copy of 1 MiB. */
    @Benchmark
    public byte[] memcpy1MiB() {
        MemorySegment.copy(MemorySegment.ofArray(copyFrom), 0, MemorySegment.ofArray(copyTo), 0, CHUNK);
        return copyTo;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (ops > 0) {
            long segs = statsA.get(Stat.TCP_SND_TOTAL) + statsB.get(Stat.TCP_SND_TOTAL);
            System.out.printf("%n[mtu %d, offload %s] %.1f segments per MiB (%.1f data, %.1f acks), %d retransmissions, mss %d%n",
                    mtu, checksumOffload, (double) segs / ops, (double) statsA.get(Stat.TCP_SND_DATA) / ops,
                    (double) statsB.get(Stat.TCP_SND_TOTAL) / ops, statsA.get(Stat.TCP_SND_REXMIT), client.mss());
        }
        client.abort();
        server.abort();
        toB.deliver(B);
        toA.deliver(A);
        sa.close();
        sb.close();
        buffers.close();
    }
}
