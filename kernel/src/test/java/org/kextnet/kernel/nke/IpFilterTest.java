package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.hook.FaultPolicy;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpEchoService;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;

/** The IPv4 filter heads: arguments, order, verdicts, re-injection, removal, replacement, faults. */
class IpFilterTest {
    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.ipf");
    }

    @AfterEach void tearDown() {
        k.close();
    }

    /** Records each call as "name:in:offset:protocol" or "name:out:options". */
    private IpFilter recorder(String name, int inVerdict, int outVerdict) {
        return new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                calls.add(name + ":in:" + offset + ":" + protocol);
                return inVerdict;
            }
            @Override public int output(Mbuf m, IpPacketOptions options) {
                calls.add(name + ":out:" + options);
                return outVerdict;
            }
            @Override public void detached() { calls.add(name + ":detached"); }
        };
    }

    private byte[] udpToKernel(int dport, String payload) {
        return Pkt.udp(40000, dport, payload.getBytes(StandardCharsets.US_ASCII)).withSrc(k.peerIp()).withDst(k.ip()).ipBytes();
    }

    @Test void inputGetsOffsetOfNextHeaderAndProtocolAfterReassembly() throws Exception {
        kpi.ipFilters().addV4("a", Position.DEFAULT, recorder("a", 0, 0));
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "hello"));
        k.runPending();
        assertThat(calls).containsExactly("a:in:20:17");
        ByteBuffer b = ByteBuffer.allocate(64);
        UdpDatagram d = so.tryReceive(b);
        assertThat(d).isNotNull();
        assertThat(new String(b.array(), 0, d.length(), StandardCharsets.US_ASCII)).isEqualTo("hello");
        so.close();
    }

    @Test void inputRunsOnceForAFragmentedDatagramAfterReassembly() throws Exception {
        kpi.ipFilters().addV4("a", Position.DEFAULT, recorder("a", 0, 0));
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        Pkt datagram = Pkt.udp(40000, 5000, new byte[3000]).withSrc(k.peerIp()).withDst(k.ip()).withId(77);
        int udpLength = 8 + 3000;
        // Two fragments: 1480 bytes, then the rest.
        byte[] f1 = datagram.fragment(0, 1480, true).ipBytes();
        byte[] f2 = datagram.fragment(1480, udpLength - 1480, false).ipBytes();
        k.injectIp(f2);
        k.injectIp(f1);
        k.runPending();
        assertThat(calls).containsExactly("a:in:20:17");
        assertThat(so.available()).isEqualTo(1);
        so.close();
    }

    @Test void outputSeesLocalPacketsBeforeFragmentationWithNullOptions() throws Exception {
        kpi.ipFilters().addV4("a", Position.DEFAULT, recorder("a", 0, 0));
        try (UdpSocket so = k.kernel().udp().open()) {
            so.send(ByteBuffer.wrap(new byte[3000]), k.peerIp(), 9);
        }
        assertThat(calls).containsExactly("a:out:null");
        // ...and the stack then fragmented it: three frames for 3008 bytes of UDP on a 1500 MTU.
        assertThat(k.drainOutbound("wire0")).hasSize(3);
    }

    @Test void chainRunsInPriorityThenInsertionOrderAndAnchorsPlaceNextToNamedFilters() throws Exception {
        kpi.ipFilters().addV4("b", Position.priority(20), recorder("b", 0, 0));
        kpi.ipFilters().addV4("a", Position.priority(10), recorder("a", 0, 0));
        kpi.ipFilters().addV4("c", Position.priority(20), recorder("c", 0, 0));
        kpi.ipFilters().addV4("before-c", Position.before("c"), recorder("before-c", 0, 0));
        kpi.ipFilters().addV4("after-a", Position.after("a"), recorder("after-a", 0, 0));
        kpi.ipFilters().addV4("first", Position.FIRST, recorder("first", 0, 0));
        assertThatThrownBy(() -> kpi.ipFilters().addV4("x", Position.after("nope"), recorder("x", 0, 0)))
                .isInstanceOf(KpiException.class).matches(e -> ((KpiException) e).errno() == Errno.ENOENT);
        assertThatThrownBy(() -> kpi.ipFilters().addV4("a", Position.DEFAULT, recorder("a2", 0, 0)))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "x"));
        k.runPending();
        assertThat(calls).extracting(s -> s.substring(0, s.indexOf(':')))
                .containsExactly("first", "a", "after-a", "b", "before-c", "c");
        assertThat(k.kernel().ipv4().filters().v4().describe()).hasSize(6).first().asString().contains("first");
    }

    @Test void errnoDropsAndFreesAndStopsTheChain() throws Exception {
        kpi.ipFilters().addV4("a", Position.DEFAULT, recorder("a", Errno.EPERM, 0));
        kpi.ipFilters().addV4("b", Position.DEFAULT, recorder("b", 0, 0));
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "x"));
        k.runPending();
        assertThat(calls).containsExactly("a:in:20:17");
        assertThat(so.available()).isZero();
        assertThat(k.stat(Stat.IP_FILTERED)).isEqualTo(1);
        assertThat(k.leakedBuffers()).isZero();
        so.close();
    }

    @Test void outputErrnoIsWhatTheSenderGets() throws Exception {
        kpi.ipFilters().addV4("deny", Position.DEFAULT, recorder("deny", 0, Errno.EHOSTUNREACH));
        try (UdpSocket so = k.kernel().udp().open()) {
            assertThatThrownBy(() -> so.send(ByteBuffer.wrap(new byte[10]), k.peerIp(), 9))
                    .hasMessageContaining("EHOSTUNREACH");
        }
        assertThat(k.readOutboundIp()).isNull();
        assertThat(k.leakedBuffers()).isZero();
    }

    /**
     * A filter that swallows every packet it has not seen (tag), queues it, and re-injects the queue later:
     * every packet reaches the socket exactly once and in order, and the filter sees each packet once.
     */
    @Test void swallowThenReinjectDeliversEachPacketOnceAndInOrder() throws Exception {
        int tagId = kpi.mbufs().tagIdFind("com.example.ipf");
        ArrayDeque<Mbuf> queue = new ArrayDeque<>();
        AtomicInteger seen = new AtomicInteger();
        IpFilterRef[] self = new IpFilterRef[1];
        self[0] = kpi.ipFilters().addV4("swallow", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                if (m.tagFind(tagId, 1) != null) return 0;
                seen.incrementAndGet();
                m.tagAllocate(tagId, 1, 1);
                queue.add(m);
                return Errno.EJUSTRETURN;
            }
        });
        kpi.ipFilters().addV4("after", Position.DEFAULT, recorder("after", 0, 0));
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        for (int i = 0; i < 10; i++) k.injectIp(udpToKernel(5000, "p" + i));
        k.runPending();
        assertThat(so.available()).isZero();
        assertThat(queue).hasSize(10);
        assertThat(k.stat(Stat.IP_FILTER_TAKEN)).isEqualTo(10);
        // Re-inject with null: the whole chain runs again; the tag makes "swallow" pass it this time.
        while (!queue.isEmpty()) assertThat(kpi.ipFilters().injectInput(queue.poll(), null)).isZero();
        assertThat(seen.get()).isEqualTo(10);
        assertThat(calls).hasSize(10);
        ByteBuffer b = ByteBuffer.allocate(64);
        for (int i = 0; i < 10; i++) {
            b.clear();
            UdpDatagram d = so.tryReceive(b);
            assertThat(new String(b.array(), 0, d.length(), StandardCharsets.US_ASCII)).isEqualTo("p" + i);
        }
        assertThat(so.tryReceive(b)).isNull();
        so.close();
        assertThat(k.leakedBuffers()).isZero();
    }

    /** Re-injecting with its own reference resumes after the injector: it and every filter before it are skipped. */
    @Test void resumeAfterMeSkipsTheInjectorAndEveryFilterBeforeIt() throws Exception {
        ArrayDeque<Mbuf> held = new ArrayDeque<>();
        kpi.ipFilters().addV4("f1", Position.priority(1), recorder("f1", 0, 0));
        IpFilterRef mid = kpi.ipFilters().addV4("mid", Position.priority(2), new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                calls.add("mid:in");
                held.add(m);
                return Errno.EJUSTRETURN;
            }
            @Override public int output(Mbuf m, IpPacketOptions options) {
                calls.add("mid:out");
                held.add(m);
                return Errno.EJUSTRETURN;
            }
        });
        kpi.ipFilters().addV4("f3", Position.priority(3), recorder("f3", 0, 0));
        kpi.ipFilters().addV4("f4", Position.priority(4), recorder("f4", 0, 0));
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "x"));
        k.runPending();
        assertThat(calls).containsExactly("f1:in:20:17", "mid:in");
        calls.clear();
        assertThat(kpi.ipFilters().injectInput(held.poll(), mid)).isZero();
        assertThat(calls).containsExactly("f3:in:20:17", "f4:in:20:17");
        assertThat(so.available()).isEqualTo(1);

        calls.clear();
        so.send(ByteBuffer.wrap(new byte[4]), k.peerIp(), 9);
        assertThat(calls).containsExactly("f1:out:null", "mid:out");
        calls.clear();
        assertThat(kpi.ipFilters().injectOutput(held.poll(), mid, null)).isZero();
        assertThat(calls).containsExactly("f3:out:null", "f4:out:null");
        assertThat(k.readOutboundIp()).isNotNull();
        so.close();
    }

    @Test void resumeAfterARemovedFilterStartsAtItsSuccessorAndAfterAReplacedOneAfterItsReplacement() throws Exception {
        kpi.ipFilters().addV4("f1", Position.priority(1), recorder("f1", 0, 0));
        IpFilterRef f2 = kpi.ipFilters().addV4("f2", Position.priority(2), recorder("f2", 0, 0));
        IpFilterRef f3 = kpi.ipFilters().addV4("f3", Position.priority(3), recorder("f3", 0, 0));
        kpi.ipFilters().addV4("f4", Position.priority(4), recorder("f4", 0, 0));
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        f2.remove();
        IpFilterRef f3b = f3.replace(recorder("f3b", 0, 0));
        k.awaitDetached();
        calls.clear();
        org.kextnet.kernel.buf.Packet m = packet(udpToKernel(5000, "a"));
        assertThat(kpi.ipFilters().injectInput(m, f2)).isZero();
        assertThat(calls).containsExactly("f3b:in:20:17", "f4:in:20:17");
        calls.clear();
        assertThat(kpi.ipFilters().injectInput(packet(udpToKernel(5000, "b")), f3)).isZero();
        assertThat(calls).containsExactly("f4:in:20:17");
        assertThat(f3b.name()).isEqualTo("f3");
        assertThat(so.available()).isEqualTo(2);
        so.close();
    }

    private org.kextnet.kernel.buf.Packet packet(byte[] ip) {
        org.kextnet.kernel.buf.Packet m = k.kernel().buffers().alloc(ip.length);
        m.setLength(ip.length);
        m.copyFrom(0, ip, 0, ip.length);
        m.setRcvif(k.ifp());
        return m;
    }

    @Test void injectInputWithoutReceivingInterfaceIsRefusedAndTheCallerKeepsThePacket() {
        org.kextnet.kernel.buf.Packet m = packet(udpToKernel(5000, "a"));
        m.setRcvif((org.kextnet.kernel.net.Interface) null);
        assertThat(kpi.ipFilters().injectInput(m, null)).isEqualTo(Errno.EINVAL);
        assertThat(m.isFree()).isFalse();
        m.free();
    }

    @Test void removeCallsDetachedOnceAfterGracePeriodAndFilterSeesNothingAfterwards() throws Exception {
        IpFilterRef a = kpi.ipFilters().addV4("a", Position.DEFAULT, recorder("a", 0, 0));
        assertThat(kpi.registrations()).containsExactly(a);
        a.remove();
        a.remove(); // idempotent
        k.awaitDetached();
        assertThat(calls).containsExactly("a:detached");
        assertThat(a.state()).isEqualTo(Registration.State.DETACHED);
        assertThat(kpi.registrations()).isEmpty();
        k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "x"));
        k.runPending();
        assertThat(calls).containsExactly("a:detached");
    }

    @Test void removeFromInsideOwnCallbackIsAllowed() throws Exception {
        IpFilterRef[] self = new IpFilterRef[1];
        AtomicInteger n = new AtomicInteger();
        self[0] = kpi.ipFilters().addV4("once", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                n.incrementAndGet();
                self[0].remove();
                return 0;
            }
        });
        k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "x"));
        k.injectIp(udpToKernel(5000, "y"));
        k.runPending();
        k.awaitDetached();
        assertThat(n.get()).isEqualTo(1);
        assertThat(self[0].state()).isEqualTo(Registration.State.DETACHED);
    }

    @Test void throwingFilterIsContainedDroppedAndQuarantinedAfterTheFaultLimit() throws Exception {
        int limit = k.kernel().nke().policy().faultLimit();
        IpFilterRef bad = kpi.ipFilters().addV4("bad", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) { throw new IllegalStateException("boom"); }
            @Override public void detached() { calls.add("bad:detached"); }
        });
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        for (int i = 0; i < limit + 3; i++) k.injectIp(udpToKernel(5000, "p" + i));
        k.runPending();
        k.awaitDetached();
        // The first 'limit' packets got the fail-safe verdict (drop); the filter was then removed and the rest passed.
        assertThat(so.available()).isEqualTo(3);
        assertThat(k.stat(Stat.NKE_FAULTS)).isEqualTo(limit);
        assertThat(k.stat(Stat.NKE_FAULT_DROPS)).isEqualTo(limit);
        assertThat(bad.faults()).isEqualTo(limit);
        assertThat(bad.state()).isEqualTo(Registration.State.FAULTED);
        assertThat(kpi.isFaulted()).isTrue();
        assertThat(calls).containsExactly("bad:detached");
        assertThat(k.leakedBuffers()).isEqualTo(3); // the three queued on the socket
        so.close();
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void failPassPolicyLetsPacketsThroughAThrowingFilter() throws Exception {
        k.kernel().nke().setPolicy(new FaultPolicy(100, true, false));
        kpi.ipFilters().addV4("bad", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) { throw new IllegalStateException("boom"); }
        });
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "x"));
        k.runPending();
        assertThat(so.available()).isEqualTo(1);
        so.close();
    }

    /** Twenty filters: past the sixteen positions that have a call site of their own, and one that throws. */
    @Test void aLongChainRunsInOrderAroundAThrowingFilterAndStopsWhereOneTakesThePacket() throws Exception {
        k.kernel().nke().setPolicy(new FaultPolicy(100, true, false));
        for (int i = 0; i < 20; i++) {
            String name = "f" + i;
            IpFilter f = switch (i) {
                case 2 -> new IpFilter() { // input only
                    @Override public int input(Mbuf m, int offset, int protocol) { calls.add("f2:in"); throw new IllegalStateException("boom"); }
                };
                case 18 -> new IpFilter() {
                    @Override public int input(Mbuf m, int offset, int protocol) { calls.add("f18:in"); m.free(); return Errno.EJUSTRETURN; }
                    @Override public int output(Mbuf m, IpPacketOptions options) { calls.add("f18:out"); return 0; }
                };
                default -> recorder(name, 0, 0);
            };
            kpi.ipFilters().addV4(name, Position.DEFAULT, f);
        }
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "x"));
        k.runPending();

        List<String> expected = new ArrayList<>();
        for (int i = 0; i <= 18; i++) expected.add(i == 2 || i == 18 ? "f" + i + ":in" : "f" + i + ":in:20:17");
        assertThat(calls).containsExactlyElementsOf(expected); // f18 took it: f19 never saw it
        assertThat(so.available()).isZero();
        assertThat(k.kernel().stats().get(Stat.IP_FILTER_TAKEN)).isEqualTo(1);

        calls.clear();
        so.send(ByteBuffer.wrap(new byte[4]), k.peerIp(), 9);
        k.runPending();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 20; i++) if (i != 2) out.add("f" + i + ":out");
        assertThat(calls).extracting(c -> c.substring(0, c.indexOf(":out") + 4)).containsExactlyElementsOf(out);
        assertThat(k.readOutbound()).isNotNull(); // every output filter continued: the datagram left
        so.close();
    }

    @Test void forwardedPacketsPassTheOutputFilters() throws Exception {
        try (KernelHarness r = KernelHarness.builder().ethernet("wire0", "10.0.0.1/24").ethernet("wire1", "10.1.0.1/24")
                .forwarding(true).build()) {
            ExtensionHandle h = r.kpi("fwd");
            List<String> seen = new ArrayList<>();
            h.ipFilters().addV4("watch", Position.DEFAULT, new IpFilter() {
                @Override public int output(Mbuf m, IpPacketOptions o) {
                    seen.add(Ipv4.format(m.getInt(16)));
                    return 0;
                }
                @Override public int input(Mbuf m, int offset, int protocol) {
                    seen.add("input");
                    return 0;
                }
            });
            int dst = r.link("wire1").peerIp();
            r.injectIp("wire0", Pkt.udp(1, 2, new byte[8]).withSrc(r.link("wire0").peerIp()).withDst(dst).ipBytes());
            r.runPending();
            assertThat(seen).containsExactly(Ipv4.format(dst));
            byte[] out = r.readOutboundIp("wire1");
            assertThat(Frame.ofIp(out).ttl()).isEqualTo(63);
            assertThat(Frame.ofIp(out).ipChecksumOk()).isTrue();
        }
    }

    @Test void echoServiceRepliesPassOutputFilters() throws Exception {
        kpi.ipFilters().addV4("a", Position.DEFAULT, recorder("a", 0, 0));
        try (UdpEchoService echo = UdpEchoService.start(k.kernel().udp(), 7)) {
            k.injectIp(udpToKernel(7, "ping"));
            k.runPending();
        }
        assertThat(calls).containsExactly("a:in:20:17", "a:out:null");
        byte[] reply = k.readOutboundIp();
        assertThat(new String(Frame.ofIp(reply).udpPayload(), StandardCharsets.US_ASCII)).isEqualTo("ping");
    }

    @Test void replaceIsOnePublishAndTheOldFilterDetachesAfterwards() throws Exception {
        IpFilterRef a = kpi.ipFilters().addV4("a", Position.DEFAULT, recorder("a", 0, 0));
        IpFilterRef b = a.replace(recorder("b", 0, 0));
        assertThat(a.state()).isIn(Registration.State.DETACHING, Registration.State.DETACHED);
        assertThatThrownBy(() -> a.replace(recorder("c", 0, 0))).isInstanceOf(KpiException.class);
        k.kernel().udp().open().bind(0, 5000);
        k.injectIp(udpToKernel(5000, "x"));
        k.runPending();
        k.awaitDetached();
        assertThat(calls).containsExactlyInAnyOrder("a:detached", "b:in:20:17");
        assertThat(kpi.registrations()).containsExactly(b);
        assertThat(k.kernel().grace().awaitReclaimed(1, TimeUnit.SECONDS)).isTrue();
    }
}
