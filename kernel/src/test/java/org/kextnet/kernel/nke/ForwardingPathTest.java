package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * The forwarding path on one thread (poll mode: driver to driver), with 0, 1, 4 and 16 no-op IP filters:
 * it allocates nothing per packet, and the rate is printed (measured, not asserted; the JMH benchmark is the
 * reference figure).
 */
class ForwardingPathTest {
    private static final int BATCH = 64;

    @ParameterizedTest(name = "{0} filters")
    @ValueSource(ints = {0, 1, 4, 16})
    void forwardingAllocatesNothingPerPacket(int filters) throws Exception {
        try (KernelHarness k = KernelHarness.builder().ethernet("wire0", "10.0.0.1/24").ethernet("wire1", "10.1.0.1/24")
                .forwarding(true).buffers(8192, 4).build()) {
            // What is measured here is allocation, not the watchdog: a packet thread descheduled for a second on a
            // loaded machine must not quarantine the no-op filters.
            k.kernel().setCallLimits(k.kernel().callLimits().withAll(TimeUnit.SECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(600)));
            ExtensionHandle kpi = k.kpi("noop");
            for (int i = 0; i < filters; i++) {
                kpi.ipFilters().addV4("noop" + i, Position.DEFAULT, new IpFilter() {
                    @Override public int output(Mbuf m, IpPacketOptions o) { return 0; }
                });
            }
            byte[] ip = Pkt.udp(1, 2, new byte[18]).withSrc(k.link("wire0").peerIp()).withDst(k.link("wire1").peerIp()).ipBytes();
            byte[] frame = Pkt.ethernet(k.link("wire0").kernelMac(), k.link("wire0").peerMac(), Pkt.ETH_IPV4, ip);
            MemoryWire.End in = k.link("wire0").wire().a();
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

            run(k, in, frame, 2_000_000);                  // warm-up: let the JIT compile the path
            long bytes0 = mx.getCurrentThreadAllocatedBytes();
            long cpu0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            int n = 2_000_000;
            run(k, in, frame, n);
            long t1 = System.nanoTime();
            long cpu = mx.getCurrentThreadCpuTime() - cpu0;
            long allocated = mx.getCurrentThreadAllocatedBytes() - bytes0;
            System.out.printf("forwarding, %2d IP filters: %.2f Mpps on one thread (inject + forward + free), %.0f ns CPU per packet, "
                    + "%.3f bytes allocated per packet (load %s)%n", filters, n / ((t1 - t0) / 1e3), (double) cpu / n,
                    (double) allocated / n, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            assertThat(k.stat(Stat.IP_FORWARDED)).isEqualTo(4_000_000);
            assertThat((double) allocated / n).as("bytes allocated per packet").isLessThan(0.01);
            assertThat(k.leakedBuffers()).isZero();
        }
    }

    private static void run(KernelHarness k, MemoryWire.End in, byte[] frame, int packets) {
        for (int done = 0; done < packets; done += BATCH) {
            for (int i = 0; i < BATCH; i++) {
                Packet m = k.kernel().buffers().alloc();
                m.setLength(frame.length);
                m.copyFrom(0, frame, 0, frame.length);
                in.offer(m);
            }
            k.runPending();
            k.discardOutbound("wire1");
        }
    }
}
