package org.kextnet.bench;

import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;
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
 * IPv4 forwarding from one memory wire to another on one thread, driver to driver (poll mode): the "driver"
 * fills a buffer with a 64-byte UDP frame, the kernel forwards it (Ethernet, IPv4 checks, route, TTL, the IP
 * output filters, ARP, framing, interface filters, transmit), and the far end frees it. With 0, 1, 4 and 16
 * no-op IP filters attached. One operation is one packet; run with {@code -prof gc} for bytes per packet.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class ForwardingBenchmark {
    static final int BATCH = 64;

    @Param({"0", "1", "4", "16"})
    int filters;

    EmbeddedKernel k;
    MemoryWire.End in, out;
    byte[] frame;

    @Setup(Level.Trial) public void setUp() throws KpiException {
        k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").ethernet("wire1", "10.1.0.1/24")
                .forwarding(true).buffers(8192, 4).build();
        ExtensionHandle kpi = k.kpi("bench");
        for (int i = 0; i < filters; i++) {
            kpi.ipFilters().addV4("noop" + i, Position.DEFAULT, new IpFilter() {
                @Override public int output(org.kextnet.kpi.mbuf.Mbuf m, IpPacketOptions o) { return 0; }
            });
        }
        byte[] ip = Frames.udpPacket(k.link("wire0").peerIp(), k.link("wire1").peerIp(), 1, 2, new byte[18]);
        frame = Frames.ethernet(k.link("wire0").kernelMac(), k.link("wire0").peerMac(), Frames.ETHERTYPE_IPV4, ip);
        in = k.link("wire0").wire().a();
        out = k.link("wire1").wire().b();
    }

    @TearDown(Level.Trial) public void tearDown() { k.close(); }

    @Benchmark @OperationsPerInvocation(BATCH)
    public int forward() {
        for (int i = 0; i < BATCH; i++) {
            Mbuf m = k.kernel().buffers().alloc();
            m.setLength(frame.length);
            m.copyFrom(0, frame, 0, frame.length);
            in.offer(m);
        }
        int n = k.runPending();
        Mbuf m;
        while ((m = out.take()) != null) m.free();
        return n;
    }
}
