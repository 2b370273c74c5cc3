package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.interfacefilter.InterfaceFilterRef;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.ProtocolFamily;

/** The interface filter heads: frame header apart on input, whole frame on output, selector, events, ioctl. */
class InterfaceFilterTest {
    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.iff");
    }

    @AfterEach void tearDown() { k.close(); }

    @Test void inputGetsTheFrameHeaderApartAndTheProtocolFamily() throws Exception {
        byte[][] header = new byte[1][];
        int[] firstDataByte = new int[1];
        kpi.interfaceFilters().attach(k.ifp(), "watch", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int frameHeader) {
                calls.add("in:" + ifp.name() + ":" + pf + ":" + (m.offset() - frameHeader));
                byte[] h = new byte[m.offset() - frameHeader];
                m.segment().asSlice(frameHeader, h.length).asByteBuffer().get(h);
                header[0] = h;
                firstDataByte[0] = m.getU8(0);
                return 0;
            }
        });
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        byte[] ip = Pkt.udp(1, 5000, new byte[4]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes();
        byte[] frame = Pkt.ethernet(k.link().kernelMac(), k.link().peerMac(), Pkt.ETH_IPV4, ip);
        k.injectInbound(frame);
        k.runPending();
        assertThat(calls).containsExactly("in:wire0:" + ProtocolFamily.PF_INET + ":14");
        assertThat(header[0]).isEqualTo(Arrays.copyOf(frame, 14));
        assertThat(firstDataByte[0]).isEqualTo(0x45);
        assertThat(so.available()).isEqualTo(1);
        so.close();
    }

    @Test void unknownEtherTypesReachAllProtocolFiltersWithFamilyZeroOnly() throws Exception {
        kpi.interfaceFilters().attach(k.ifp(), "all", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int fh) { calls.add("all:" + pf); return 0; }
        });
        kpi.interfaceFilters().attach(k.ifp(), "inet", ProtocolFamily.PF_INET, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int fh) { calls.add("inet:" + pf); return 0; }
        });
        k.injectInbound(Pkt.ethernet(k.link().kernelMac(), k.link().peerMac(), 0x88b5, new byte[46]));
        k.injectIp(Pkt.udp(1, 9, new byte[4]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        assertThat(calls).containsExactly("all:0", "all:2", "inet:2");
        assertThat(k.stat(Stat.LINK_UNKNOWN_TYPE)).isEqualTo(1);
    }

    @Test void outputGetsTheWholeFrame() throws Exception {
        List<byte[]> frames = new ArrayList<>();
        kpi.interfaceFilters().attach(k.ifp(), "out", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int output(Ifnet ifp, int pf, Mbuf m) {
                calls.add("out:" + pf);
                frames.add(m.toByteArray());
                return 0;
            }
        });
        try (UdpSocket so = k.kernel().udp().open()) {
            so.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), k.peerIp(), 9);
        }
        assertThat(calls).containsExactly("out:2");
        byte[] sent = k.readOutbound();
        assertThat(frames.get(0)).isEqualTo(sent);
        assertThat(new Frame(sent).ethDst()).isEqualTo(k.link().peerMac());
    }

    @Test void swallowOnOutputThenOutputRawDeliversOnceInOrder() throws Exception {
        int tag = kpi.mbufs().tagIdFind("com.example.iff");
        ArrayDeque<Mbuf> held = new ArrayDeque<>();
        kpi.interfaceFilters().attach(k.ifp(), "delay", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int output(Ifnet ifp, int pf, Mbuf m) {
                if (m.tagFind(tag, 2) != null) return 0;
                m.tagAllocate(tag, 2, 4);
                held.add(m);
                return Errno.EJUSTRETURN;
            }
        });
        try (UdpSocket so = k.kernel().udp().open()) {
            for (int i = 0; i < 5; i++) so.send(ByteBuffer.wrap(new byte[] {(byte) i}), k.peerIp(), 9);
        }
        assertThat(k.outboundCount("wire0")).isZero();
        assertThat(k.stat(Stat.LINK_FILTER_TAKEN)).isEqualTo(5);
        while (!held.isEmpty()) assertThat(k.ifp().outputRaw(ProtocolFamily.PF_INET, held.poll())).isZero();
        for (int i = 0; i < 5; i++) assertThat(Frame.ofIp(k.readOutboundIp()).udpPayload()).containsExactly(i);
        assertThat(k.readOutbound()).isNull();
    }

    @Test void swallowOnInputThenIfnetInputDeliversOnce() throws Exception {
        int tag = kpi.mbufs().tagIdFind("com.example.iff");
        ArrayDeque<Mbuf> held = new ArrayDeque<>();
        kpi.interfaceFilters().attach(k.ifp(), "delay", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int frameHeader) {
                if (m.tagFind(tag, 1) != null) return 0;
                m.tagAllocate(tag, 1, 4);
                m.prepend(m.offset() - frameHeader); // keep the frame whole for ifnet_input
                held.add(m);
                return Errno.EJUSTRETURN;
            }
        });
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        k.injectIp(Pkt.udp(1, 5000, new byte[4]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        assertThat(so.available()).isZero();
        assertThat(k.ifp().input(held.poll())).isZero();
        assertThat(so.available()).isEqualTo(1);
        so.close();
    }

    @Test void errnoDropsTheFrameAndCountsIt() throws Exception {
        kpi.interfaceFilters().attach(k.ifp(), "drop", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int fh) { return Errno.EPERM; }
        });
        k.injectIp(Pkt.udp(1, 9, new byte[4]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        assertThat(k.stat(Stat.LINK_FILTERED)).isEqualTo(1);
        assertThat(k.stat(Stat.IP_TOTAL)).isZero();
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void throwingFilterIsContainedAndQuarantined() throws Exception {
        int limit = k.kernel().nke().policy().faultLimit();
        InterfaceFilterRef bad = kpi.interfaceFilters().attach(k.ifp(), "bad", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int fh) { throw new NullPointerException("bug"); }
        });
        for (int i = 0; i < limit + 2; i++) k.injectIp(Pkt.udp(1, 9, new byte[4]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        k.awaitDetached();
        assertThat(bad.state()).isEqualTo(Registration.State.FAULTED);
        assertThat(k.stat(Stat.NKE_FAULT_DROPS)).isEqualTo(limit);
        assertThat(k.stat(Stat.IP_TOTAL)).isEqualTo(2);
        k.readOutbound(); // the port unreachables
        k.drainOutbound("wire0");
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void ioctlChainTreatsEopnotsuppAsNotHandled() throws Exception {
        kpi.interfaceFilters().attach(k.ifp(), "a", 0, Position.priority(1), new InterfaceFilter() {
            @Override public int ioctl(Ifnet ifp, int pf, long cmd, Object arg) { calls.add("a"); return Errno.EOPNOTSUPP; }
        });
        kpi.interfaceFilters().attach(k.ifp(), "b", 0, Position.priority(2), new InterfaceFilter() {
            @Override public int ioctl(Ifnet ifp, int pf, long cmd, Object arg) {
                calls.add("b");
                return cmd == 42 ? Errno.EJUSTRETURN : cmd == 43 ? Errno.EACCES : 0;
            }
        });
        kpi.interfaceFilters().attach(k.ifp(), "c", 0, Position.priority(3), new InterfaceFilter() {
            @Override public int ioctl(Ifnet ifp, int pf, long cmd, Object arg) { calls.add("c"); return Errno.EOPNOTSUPP; }
        });
        assertThat(k.ifp().ioctl(0, 42, null)).isZero();
        assertThat(calls).containsExactly("a", "b");
        calls.clear();
        assertThat(k.ifp().ioctl(0, 43, null)).isEqualTo(Errno.EACCES);
        calls.clear();
        // handled by b (0), nobody else: success, and the interface itself never saw it
        assertThat(k.ifp().ioctl(0, 44, null)).isZero();
        assertThat(calls).containsExactly("a", "b", "c");
        // the interface's own ioctl after filters that pass
        assertThat(k.ifp().ioctl(0, Ifnet.SIOCSIFMTU, 1400)).isZero();
        assertThat(k.ifp().mtu()).isEqualTo(1400);
        int[] out = new int[1];
        assertThat(k.ifp().ioctl(0, Ifnet.SIOCGIFMTU, out)).isZero();
        assertThat(out[0]).isEqualTo(1400);
    }

    @Test void eventsReachFiltersAndDetachingComesBeforeDetached() throws Exception {
        var wire = new org.kextnet.kernel.link.memwire.MemoryWire("extra", org.kextnet.kernel.link.memwire.MemoryWire.Options.perfect().withPollMode(true));
        var extra = k.kernel().createInterface("extra0", org.kextnet.kernel.net.IfFamily.ETHERNET, wire.a(), 0x020000000999L, 1500);
        InterfaceFilterRef ref = kpi.interfaceFilters().attach(extra, "ev", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public void event(Ifnet ifp, int pf, KernelEvent e) { calls.add(KernelEvents.codeName(e)); }
            @Override public void detached(Ifnet ifp) { calls.add("detached:" + ifp.name()); }
        });
        extra.up();
        extra.setMtu(1400);
        extra.setLinkState(false);
        k.kernel().addAddress(extra, org.kextnet.kernel.net.InterfaceAddress.parse("10.9.0.1/24"));
        k.kernel().destroyInterface("extra0");
        k.awaitDetached();
        assertThat(calls).containsExactly("KEV_DL_SIFFLAGS", "KEV_DL_SIFMTU", "KEV_DL_LINK_OFF", "KEV_INET_NEW_ADDR",
                "KEV_DL_IF_DETACHING", "KEV_DL_SIFFLAGS", "KEV_DL_PROTO_DETACHED", "detached:extra0");
        assertThat(ref.state()).isEqualTo(Registration.State.DETACHED);
        assertThatThrownBy(() -> kpi.interfaceFilters().attach(extra, "late", 0, Position.DEFAULT, new InterfaceFilter() {}))
                .isInstanceOf(KpiException.class).matches(e -> ((KpiException) e).errno() == Errno.ENXIO);
        assertThat(extra.input(k.kernel().buffers().alloc())).isEqualTo(Errno.ENXIO);
    }

    @Test void powerEventsReachInterfaceFilters() throws Exception {
        kpi.interfaceFilters().attach(k.ifp(), "ev", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public void event(Ifnet ifp, int pf, KernelEvent e) { calls.add(KernelEvents.codeName(e)); }
        });
        k.kernel().sleep();
        k.kernel().sleep(); // no second event
        k.kernel().wake();
        assertThat(calls).containsExactly("KEV_POWER_SLEEP", "KEV_POWER_WAKE");
    }
}
