package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * Per-registration counters: calls, the verdicts of packet callbacks, faults and time, for every head, summed over
 * every thread that called, kept when a thread's context retires and when the registration ends.
 */
class RegistrationCountersTest {
    private KernelHarness k;
    private ExtensionHandle kpi;

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.counted");
    }

    @AfterEach void tearDown() { k.close(); }

    private void udp(int dport, int count) {
        for (int i = 0; i < count; i++) {
            k.injectIp(Pkt.udp(40000, dport, "x".getBytes(StandardCharsets.US_ASCII)).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
            if (i % 500 == 499) k.runPending();
        }
        k.runPending();
    }

    @Test void anIpFiltersVerdictsAreCountedOneByOne() throws Exception {
        int[] seen = {0};
        IpFilterRef pass = kpi.ipFilters().addV4("pass", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) { return 0; }
        });
        IpFilterRef judge = kpi.ipFilters().addV4("judge", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                int n = seen[0]++ % 4;
                if (n == 1) {
                    m.free();
                    return Errno.EJUSTRETURN; // swallowed: it took the packet (and dropped it itself)
                }
                if (n == 2) return Errno.EPERM; // dropped by the kernel
                if (n == 3) throw new IllegalStateException("every fourth");
                return 0;
            }
        });
        k.kernel().nke().setPolicy(new org.kextnet.kernel.hook.FaultPolicy(1_000_000, false, false));
        udp(7, 2000);

        Registration.Counters p = pass.counters(), j = judge.counters();
        assertThat(p.calls()).isEqualTo(2000);
        assertThat(p.passed()).isEqualTo(2000);
        assertThat(p.swallowed() + p.dropped() + p.faults()).isZero();
        assertThat(j.calls()).isEqualTo(2000);
        assertThat(j.passed()).isEqualTo(500);
        assertThat(j.swallowed()).isEqualTo(500);
        assertThat(j.dropped()).isEqualTo(500);
        assertThat(j.faults()).isEqualTo(500);
        assertThat(p.nanos()).as("time, sampled on about one walk in 64").isPositive();
        assertThat(k.kernel().nke().describe()).contains("counters:",
                "com.example.counted: ipfilter pass: 2000 calls: 2000 passed, 0 swallowed, 0 dropped; 0 faults, ",
                "com.example.counted: ipfilter judge: 2000 calls: 500 passed, 500 swallowed, 500 dropped; 500 faults, ");
    }

    @Test void aPacketHeadsFirstCallsAreTimedExactlyNotScaledFromOneSample() throws Exception {
        long[] inside = {0};
        IpFilterRef slow = kpi.ipFilters().addV4("slow", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                long start = System.nanoTime(), until = start + 2_000_000;
                while (System.nanoTime() < until) Thread.onSpinWait();
                inside[0] += System.nanoTime() - start;
                return 0;
            }
        });
        udp(7, 3);
        long nanos = slow.counters().nanos();
        // Timed from outside, every call: at least what the callbacks measured themselves. One of them scaled by the
        // sampling weight (64) would be over 20 times it.
        assertThat(nanos).as("the time of 3 calls that measured %d ns inside", inside[0])
                .isGreaterThanOrEqualTo(inside[0]).isLessThan(20 * inside[0]);
    }

    @Test void countsAreKeptWhenARegistrationEndsAndItsPlaceStartsFromZeroForTheNext() throws Exception {
        IpFilterRef first = kpi.ipFilters().addV4("first", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) { return 0; }
        });
        udp(7, 100);
        first.remove();
        k.awaitDetached();
        assertThat(first.state()).isEqualTo(Registration.State.DETACHED);
        assertThat(first.counters().calls()).as("100 inputs and its detached").isEqualTo(101);

        IpFilterRef second = kpi.ipFilters().addV4("second", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) { return 0; }
        });
        udp(7, 30);
        assertThat(second.counters().calls()).as("the freed place, counted afresh").isEqualTo(30);
        assertThat(first.counters().calls()).as("the ended registration's own, kept").isEqualTo(101);
    }

    @Test void countsOfEveryThreadAreSummedAndKeptWhenAThreadsContextCloses() throws Exception {
        IpFilterRef out = kpi.ipFilters().addV4("out", Position.DEFAULT, new IpFilter() {
            @Override public int output(Mbuf m, org.kextnet.kpi.ipfilter.IpPacketOptions options) { return 0; }
        });
        Thread[] senders = new Thread[4];
        for (int t = 0; t < senders.length; t++) {
            senders[t] = Thread.ofPlatform().start(() -> {
                // A thread that opens a context of its own for its life, as a driver's reader does, then closes it.
                PacketContext own = k.kernel().contexts().open();
                UdpSocket so = k.kernel().udp().open();
                try {
                    for (int i = 0; i < 250; i++) so.send(ByteBuffer.allocate(8), k.peerIp(), 9);
                } catch (Exception e) {
                    throw new AssertionError(e);
                } finally {
                    so.close();
                    own.close();
                }
            });
        }
        for (Thread t : senders) t.join(30_000);
        k.discardOutbound(k.link().name());
        assertThat(out.counters().calls()).isEqualTo(1000);
        assertThat(out.counters().passed()).isEqualTo(1000);
    }

    @Test void interfaceFiltersAndControlsAreCountedToo() throws Exception {
        var iff = kpi.interfaceFilters().attach(k.ifp(), "watch", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int protocol, Mbuf m, int frameHeader) { return 0; }
        });
        udp(7, 10);
        assertThat(iff.counters().calls()).isEqualTo(10);
        assertThat(iff.counters().passed()).isEqualTo(10);

        var ctl = kpi.controls().register(new ControlParams("com.example.counted", 0, 0, 0, 0, 0), new KernelControl() {
            @Override public int connect(ControlConnection c) { return 0; }
            @Override public int send(ControlConnection c, Mbuf m, int flags) {
                m.free();
                return 0;
            }
        });
        ControlSocket client = k.kernel().controls().connect("com.example.counted", 0, false);
        for (int i = 0; i < 5; i++) assertThat(client.send(ByteBuffer.wrap(new byte[] {1, 2}), 0)).isZero();
        client.close();
        Registration.Counters c = ctl.counters();
        assertThat(c.calls()).as("connect, 5 sends, disconnect").isEqualTo(7);
        assertThat(c.passed() + c.swallowed() + c.dropped()).as("no packet verdicts on a control").isZero();
        assertThat(c.nanos()).as("every call of a control-path head is timed").isPositive();
        assertThat(k.kernel().nke().describe()).contains("com.example.counted: kctl com.example.counted: 7 calls; 0 faults, ");
        kpi.removeAll();
        assertThat(kpi.awaitRemoved(10, TimeUnit.SECONDS)).isTrue();
    }
}
