package org.kextnet.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.buf.PacketPool;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Udp;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * In-memory IPv4 forwarding on one core, driver to driver: 64-byte frames (60 bytes plus the FCS a NIC
 * would add; 18 bytes of UDP payload) arrive in batches on em0 (10.0.0.1/24) for 10.1.0.2, behind em1
 * (10.1.0.1/24, static ARP). Each invocation is what a driver's reader does for one batch: take buffers
 * from the pool and fill them (the "DMA": a 60-byte copy), run {@link Interface#input} for the batch, then
 * the egress wire is drained and each frame freed, as the peer driver would. One operation is one packet.
 *
 * <p>Two yardsticks run in the same JVM over the same kind of buffers:
 * <ul>
 * <li>{@link #ipv4Reference}: the IPv4 work alone, as the issue describes it: header checks with the
 *     checksum, TTL decrement with an incremental checksum, in a bare loop (restoring TTL and checksum
 *     first so that every round does the same work).
 * <li>{@link #ipv4ReferenceHeap}: the same work on Java arrays ({@code byte[]} frames read through
 *     big-endian array views): the bare loop in its plainest Java form, what a "bare Java loop" over packets
 *     most likely means. Between the two references lies the cost of off-heap buffers and their checks.
 * <li>{@link #driversOnly}: the drivers' share alone: alloc and fill, the egress ring, take and free,
 *     with no stack in between. What forwarding costs above this is the stack's.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
// The kernel's launcher flags (./kextnet): C2's default MaxInlineLevel of 15 is shallower than the packet path
// plus MemorySegment's internals, and then the compile order decides whether header accesses stay calls:
// forwarding took ~130 or ~190 ns per packet from one JVM to the next; the IP filter walks are inlined on
// request, being larger than C2 inlines by itself (docs/benchmarks.md). Headers unchecked, as the launcher runs.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Dkextnet.unchecked=true", "-XX:MaxInlineLevel=30", "-XX:CompileCommand=quiet",
        "-XX:CompileCommand=inline,org.kextnet.kernel.inet.IpFilters::walk*"})
public class InMemoryForwardingBenchmark {
    public static final int BATCH = 64;
    static final int FRAME = 60;
    static final int IP = Ethernet.HEADER_LEN;
    static final java.lang.foreign.ValueLayout.OfByte U8 = java.lang.foreign.ValueLayout.JAVA_BYTE;
    static final long MAC0 = 0x02_00_00_00_00_01L, PEER0 = 0x02_00_00_00_00_02L;
    static final long MAC1 = 0x02_00_00_00_01_01L, PEER1 = 0x02_00_00_00_01_02L;

    /**
     * A kernel with two Ethernet interfaces on memory wires in poll mode, forwarding from em0 to em1, with
     * {@link #ipFilters} no-op IP output filters attached by an extension.
     */
    @State(Scope.Thread)
    public static class Router {
        /**
         * No-op IP filters on the path (issue 4 measures 0, 1, 4 and 16). They are instances of four different
         * classes in turn, as filters of different extensions would be: a call site that sees more than two
         * classes is megamorphic (an interface dispatch per filter and packet, nothing inlined).
         */
        @Param({"0"})
        public int ipFilters;

        Kernel kernel;
        PacketPool pool;
        Interface em0, em1;
        MemoryWire.End egress;
        PacketContext ctx;
        final Packet[] batch = new Packet[BATCH];
        /** The frame as it arrives, off-heap like the memory it is copied from in a real driver (a DMA ring). */
        final MemorySegment template = java.lang.foreign.Arena.ofAuto().allocate(FRAME, 64).copyFrom(frame());

        @Setup(Level.Trial)
        public void setUp() {
            Buffers buffers = Buffers.standard(); // the kernel's own: 16384 buffers, 32 MiB
            pool = buffers.small();
            // A kernel with a clock of its own runs no timer thread: only the benchmark thread runs packets.
            kernel = new Kernel("bench", buffers, System::nanoTime);
            MemoryWire w0 = new MemoryWire("w0", MemoryWire.Options.perfect().withPollMode(true));
            MemoryWire w1 = new MemoryWire("w1", MemoryWire.Options.perfect().withPollMode(true).withRingSize(4 * BATCH));
            em0 = kernel.createInterface("em0", IfFamily.ETHERNET, w0.a(), MAC0, 1500);
            em1 = kernel.createInterface("em1", IfFamily.ETHERNET, w1.a(), MAC1, 1500);
            kernel.addAddress(em0, InterfaceAddress.parse("10.0.0.1/24"));
            kernel.addAddress(em1, InterfaceAddress.parse("10.1.0.1/24"));
            em0.up();
            em1.up();
            kernel.arp(em1).addStatic(Ipv4.parse("10.1.0.2"), PEER1);
            kernel.setForwarding(true);
            attachFilters(kernel, ipFilters);
            egress = w1.b();
            drain(w0.b());
            drain(egress); // the gratuitous ARPs of bringing the links up
            ctx = kernel.contexts().open();
        }

        @TearDown(Level.Trial)
        public void check() {
            long received = kernel.stats().get(Stat.IP_TOTAL);
            long forwarded = kernel.stats().get(Stat.IP_FORWARDED);
            long sent = em1.counters().get(IfCounters.OPACKETS);
            if (forwarded != received || sent < forwarded) {
                throw new IllegalStateException("not forwarding: " + received + " received, " + forwarded + " forwarded, " + sent + " sent");
            }
            ctx.close();
            if (pool.inUse() != 0) throw new IllegalStateException("buffers leaked: " + pool.inUse());
            kernel.close();
        }

        private static void attachFilters(Kernel kernel, int n) {
            if (n == 0) return;
            ExtensionHandle ext = kernel.nke().open("bench-filters");
            for (int i = 0; i < n; i++) {
                IpFilter f = switch (i % 4) {
                    case 0 -> new Noop0();
                    case 1 -> new Noop1();
                    case 2 -> new Noop2();
                    default -> new Noop3();
                };
                try {
                    ext.ipFilters().addV4("noop" + i, Position.DEFAULT, f);
                } catch (KpiException e) {
                    throw new IllegalStateException(e);
                }
            }
        }

        /** The driver's half of a receive: buffers from its thread's cache of the pool, filled with the frame. */
        void fill() {
            for (int i = 0; i < BATCH; i++) {
                Packet m = ctx.alloc();
                m.setLength(FRAME);
                MemorySegment.copy(template, 0, m.segment(), m.offset(), FRAME);
                batch[i] = m;
            }
        }

        /** The peer driver: takes what em1 sent and frees it; returns how many. */
        int drainEgress() {
            int n = 0;
            for (Packet m; (m = egress.take()) != null; n++) ctx.free(m);
            return n;
        }
    }

    static final class Noop0 implements IpFilter {
        @Override public int output(Mbuf m, IpPacketOptions o) { return 0; }
    }
    static final class Noop1 implements IpFilter {
        @Override public int output(Mbuf m, IpPacketOptions o) { return 0; }
    }
    static final class Noop2 implements IpFilter {
        @Override public int output(Mbuf m, IpPacketOptions o) { return 0; }
    }
    static final class Noop3 implements IpFilter {
        @Override public int output(Mbuf m, IpPacketOptions o) { return 0; }
    }

    /** Buffers holding the frame, for the bare IPv4 loop. */
    @State(Scope.Thread)
    public static class Frames {
        PacketPool pool;
        final Packet[] frames = new Packet[BATCH];
        /** The same frames as Java arrays, for the heap variant of the loop. */
        final byte[][] heapFrames = new byte[BATCH][];
        short ttlWord, checksum;

        @Setup(Level.Trial)
        public void setUp() {
            pool = new PacketPool("reference", BATCH, Buffers.SMALL_SIZE);
            MemorySegment t = frame();
            ttlWord = t.get(Bytes.U16, IP + Ipv4.TTL);
            checksum = t.get(Bytes.U16, IP + Ipv4.CHECKSUM);
            for (int i = 0; i < BATCH; i++) {
                Packet m = pool.alloc();
                m.setLength(FRAME);
                MemorySegment.copy(t, 0, m.segment(), m.offset(), FRAME);
                frames[i] = m;
                heapFrames[i] = t.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (Packet m : frames) m.free();
            pool.close();
        }
    }

    /** The 60-byte frame: Ethernet, IPv4 (TTL 64) and UDP 5000 -> 9 with 18 bytes of payload and its checksum. */
    static MemorySegment frame() {
        MemorySegment s = MemorySegment.ofArray(new byte[FRAME]);
        int src = Ipv4.parse("10.0.0.2"), dst = Ipv4.parse("10.1.0.2");
        Ethernet.write(s, 0, MAC0, PEER0, Ethernet.TYPE_IPV4);
        Ipv4.write(s, IP, 0, FRAME - IP, 1, 0, 64, Ipv4.PROTO_UDP, src, dst);
        int udp = IP + Ipv4.MIN_HEADER;
        int udpLen = FRAME - udp;
        Udp.write(s, udp, 5000, 9, udpLen);
        for (int i = udp + Udp.HEADER_LEN; i < FRAME; i++) s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) i);
        Udp.fillChecksum(s, udp, udpLen, src, dst);
        return s;
    }

    private static void drain(MemoryWire.End end) {
        for (Packet m; (m = end.take()) != null; ) m.free();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int forward(Router r) {
        r.fill();
        r.em0.input(r.ctx, r.batch, BATCH);
        return r.drainEgress();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int driversOnly(Router r) {
        r.fill();
        for (int i = 0; i < BATCH; i++) {
            Packet m = r.batch[i];
            r.batch[i] = null;
            r.em1.driver().transmit(r.ctx, m);
        }
        return r.drainEgress();
    }

    private static final java.lang.invoke.VarHandle BE_INT =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.BIG_ENDIAN);
    private static final java.lang.invoke.VarHandle BE_SHORT =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, java.nio.ByteOrder.BIG_ENDIAN);

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int ipv4ReferenceHeap(Frames f) {
        int forwarded = 0;
        for (byte[] b : f.heapFrames) {
            BE_SHORT.set(b, IP + Ipv4.TTL, f.ttlWord);
            BE_SHORT.set(b, IP + Ipv4.CHECKSUM, f.checksum);
            int w0 = (int) BE_INT.get(b, IP), w1 = (int) BE_INT.get(b, IP + 4), w2 = (int) BE_INT.get(b, IP + 8),
                    w3 = (int) BE_INT.get(b, IP + 12), w4 = (int) BE_INT.get(b, IP + 16);
            long sum = (w0 & 0xffffffffL) + (w1 & 0xffffffffL) + (w2 & 0xffffffffL) + (w3 & 0xffffffffL) + (w4 & 0xffffffffL);
            int total = w0 & 0xffff;
            if ((w0 >>> 24) == 0x45 && total >= Ipv4.MIN_HEADER && total <= b.length - IP
                    && org.kextnet.kernel.wire.Checksum.fold(sum) == 0xffff && (w2 >>> 24) > 1) {
                int oldWord = w2 >>> 16, newWord = oldWord - 0x100;
                BE_INT.set(b, IP + Ipv4.TTL, (newWord & 0xffff) << 16
                        | org.kextnet.kernel.wire.Checksum.update16(w2 & 0xffff, oldWord, newWord));
                forwarded++;
            }
        }
        return forwarded;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int ipv4Reference(Frames f) {
        int forwarded = 0;
        for (Packet m : f.frames) {
            MemorySegment s = m.segment();
            int ip = m.offset() + IP;
            // Back to TTL 64 and the original checksum (two stores), so that every round does the same work.
            s.set(Bytes.U16, ip + Ipv4.TTL, f.ttlWord);
            s.set(Bytes.U16, ip + Ipv4.CHECKSUM, f.checksum);
            if (Ipv4.check(s, ip, FRAME - IP, false) == null && Ipv4.ttl(s, ip) > 1) {
                Ipv4.decrementTtl(s, ip);
                forwarded++;
            }
        }
        return forwarded;
    }
}
