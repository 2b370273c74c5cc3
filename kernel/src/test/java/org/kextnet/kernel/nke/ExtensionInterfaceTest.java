package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.event.EventSocket;
import org.kextnet.kernel.inet.Route;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.event.EventFilter;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.net.IfnetInit;
import org.kextnet.kpi.net.ProtocolFamily;

/** Interfaces created by extensions: a tunnel with the kernel's IPv4 plumbed on it, and one with its own framing. */
class ExtensionInterfaceTest {
    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<byte[]> sent = Collections.synchronizedList(new ArrayList<>());
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.tunnel");
    }

    @AfterEach void tearDown() { k.close(); }

    private IfnetInit.Builder tunnel(String name, int unit) {
        return IfnetInit.builder(name, unit, IfnetFamily.TUN, (ifp, m) -> {
            sent.add(m.toByteArray());
            m.free();
            return 0;
        }).mtu(1400).event((ifp, e) -> calls.add("event " + KernelEvents.codeName(e)))
          .detached(ifp -> calls.add("detached " + ifp.name()));
    }

    @Test void aTunnelCarriesTheKernelsIpv4BothWays() throws Exception {
        try (EventSocket ev = k.kernel().events().openSocket()) {
            ev.setFilter(new EventFilter(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS, KernelEvents.KEV_DL_SUBCLASS));
            Ifnet t = kpi.interfaces().allocate(tunnel("ktun", 0).build());
            assertThat(t.isAttached()).isTrue();
            assertThat(k.kernel().findInterface("ktun0")).isNull(); // not visible before attach
            assertThat(kpi.interfaces().attach(t)).isZero();
            assertThat(kpi.interfaces().findByName("ktun0")).isSameAs(t);
            assertThat(t.ifnetFamily()).isEqualTo(IfnetFamily.TUN);
            Interface ifp = (Interface) t;
            assertThat(ifp.protocols().inet).as("the kernel's IPv4 plumber for TUN").isNotNull();
            ifp.up();
            k.kernel().addAddress(ifp, InterfaceAddress.parse("10.66.0.1/24"));
            // Out: a datagram routed into the tunnel reaches the extension's output callback as a raw IP packet.
            try (UdpSocket so = k.kernel().udp().open()) {
                so.send(ByteBuffer.wrap("via tunnel".getBytes()), Ipv4.parse("10.66.0.9"), 9);
            }
            assertThat(sent).hasSize(1);
            assertThat(Frame.ofIp(sent.get(0)).dst()).isEqualTo(Ipv4.parse("10.66.0.9"));
            assertThat(new String(Frame.ofIp(sent.get(0)).udpPayload())).isEqualTo("via tunnel");
            // In: the extension hands a packet to ifnet_input; it reaches a socket.
            UdpSocket so = k.kernel().udp().open().bind(0, 7000);
            byte[] ip = Pkt.udp(9, 7000, "back".getBytes()).withSrc(Ipv4.parse("10.66.0.9")).withDst(Ipv4.parse("10.66.0.1")).ipBytes();
            org.kextnet.kernel.buf.Packet m = k.kernel().buffers().alloc(ip.length);
            m.setLength(ip.length);
            m.copyFrom(0, ip, 0, ip.length);
            assertThat(t.input(m)).isZero();
            ByteBuffer b = ByteBuffer.allocate(16);
            UdpDatagram d = so.tryReceive(b);
            assertThat(new String(b.array(), 0, d.length())).isEqualTo("back");
            so.close();
            assertThat(t.statistics().packetsIn()).isEqualTo(1);
            assertThat(t.statistics().packetsOut()).isEqualTo(1);
            // Detach: asynchronous; events, then the detached callback; the kernel forgets the interface.
            assertThat(kpi.interfaces().detach(t)).isZero();
            assertThat(kpi.interfaces().detach(t)).isEqualTo(Errno.EINVAL);
            assertThat(kpi.awaitRemoved(5, TimeUnit.SECONDS)).isTrue();
            assertThat(calls).contains("event KEV_DL_IF_DETACHING").last().isEqualTo("detached ktun0");
            assertThat(t.isAttached()).isFalse();
            assertThat(t.input(k.kernel().buffers().alloc())).isEqualTo(Errno.ENXIO);
            assertThat(kpi.interfaces().attach(t)).isEqualTo(Errno.EINVAL); // never re-attached
            assertThat(k.kernel().routes().routes()).noneMatch(r -> r.ifp() == ifp);
            List<String> seen = new ArrayList<>();
            KernelEvent e;
            while ((e = ev.receive(100, TimeUnit.MILLISECONDS)) != null) seen.add(KernelEvents.codeName(e));
            assertThat(seen).containsSubsequence("KEV_DL_IF_ATTACHED", "KEV_DL_PROTO_ATTACHED", "KEV_DL_IF_DETACHING",
                    "KEV_DL_PROTO_DETACHED", "KEV_DL_IF_DETACHED");
        }
    }

    @Test void allocationRules() throws Exception {
        Ifnet a = kpi.interfaces().allocate(tunnel("ktun", 1).uniqueId("u1").build());
        assertThatThrownBy(() -> kpi.interfaces().allocate(tunnel("ktun", 1).build()))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> kpi.interfaces().allocate(tunnel("ktun", 2).uniqueId("u1").build()))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> kpi.interfaces().allocate(tunnel("wire", 0).build()))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> kpi.interfaces().allocate(IfnetInit.builder("lo", 5, IfnetFamily.LOOPBACK, (i, m) -> 0).build()))
                .matches(e -> ((KpiException) e).errno() == Errno.EINVAL);
        ExtensionHandle other = k.kpi("com.example.other");
        assertThat(other.interfaces().attach(a)).isEqualTo(Errno.EINVAL); // not its interface
        // An allocated, never attached interface can be detached too; its unique id is free again afterwards.
        assertThat(kpi.interfaces().detach(a)).isZero();
        assertThat(kpi.awaitRemoved(5, TimeUnit.SECONDS)).isTrue();
        assertThat(kpi.interfaces().allocate(tunnel("ktun", 2).uniqueId("u1").build())).isNotNull();
    }

    /**
     * An interface with its own 4-byte frame header (a protocol family number, as utun): its framer writes it,
     * its demux reads it, the kernel's IPv4 runs over it.
     */
    @Test void ownDemuxAndFramer() throws Exception {
        Ifnet t = kpi.interfaces().allocate(IfnetInit.builder("utun", 0, IfnetFamily.TUN, (ifp, m) -> {
                    sent.add(m.toByteArray());
                    m.free();
                    return 0;
                }).headerLength(4)
                .framer((ifp, m, frame) -> {
                    if (!m.prepend(4)) return Errno.ENOBUFS;
                    m.putInt(0, ProtocolFamily.PF_INET);
                    return 0;
                })
                .demux((ifp, m, frameHeader) -> m.segment().get(org.kextnet.kernel.wire.Bytes.U32, frameHeader))
                .build());
        assertThat(kpi.interfaces().attach(t)).isZero();
        Interface ifp = (Interface) t;
        ifp.up();
        k.kernel().addAddress(ifp, InterfaceAddress.parse("10.67.0.1/24"));
        try (UdpSocket so = k.kernel().udp().open()) {
            so.send(ByteBuffer.wrap(new byte[] {1}), Ipv4.parse("10.67.0.2"), 9);
        }
        assertThat(sent).hasSize(1);
        assertThat(ByteBuffer.wrap(sent.get(0)).getInt(0)).isEqualTo(ProtocolFamily.PF_INET);
        assertThat(sent.get(0)[4]).isEqualTo((byte) 0x45);
        UdpSocket so = k.kernel().udp().open().bind(0, 7001);
        byte[] ip = Pkt.udp(9, 7001, new byte[2]).withSrc(Ipv4.parse("10.67.0.2")).withDst(Ipv4.parse("10.67.0.1")).ipBytes();
        byte[] frame = ByteBuffer.allocate(4 + ip.length).putInt(ProtocolFamily.PF_INET).put(ip).array();
        org.kextnet.kernel.buf.Packet m = k.kernel().buffers().alloc(frame.length);
        m.setLength(frame.length);
        m.copyFrom(0, frame, 0, frame.length);
        assertThat(t.input(m)).isZero();
        assertThat(so.available()).isEqualTo(1);
        so.close();
        assertThat(kpi.removeAll()).isIn(0, Errno.EBUSY);
        assertThat(kpi.awaitRemoved(5, TimeUnit.SECONDS)).isTrue();
        assertThat(k.kernel().findInterface("utun0")).isNull();
    }

    @Test void throwingOutputIsContainedAndTheInterfaceIsQuarantined() throws Exception {
        Ifnet t = kpi.interfaces().allocate(IfnetInit.builder("bad", 0, IfnetFamily.TUN, (ifp, m) -> {
            throw new IllegalStateException("driver bug");
        }).build());
        kpi.interfaces().attach(t);
        Interface ifp = (Interface) t;
        ifp.up();
        k.kernel().addAddress(ifp, InterfaceAddress.parse("10.68.0.1/24"));
        try (UdpSocket so = k.kernel().udp().open()) {
            for (int i = 0; i < k.kernel().nke().policy().faultLimit(); i++) so.send(ByteBuffer.wrap(new byte[1]), Ipv4.parse("10.68.0.2"), 9);
        }
        assertThat(kpi.awaitRemoved(5, TimeUnit.SECONDS)).isTrue();
        assertThat(t.isAttached()).isFalse();
        assertThat(kpi.isFaulted()).isTrue();
        assertThat(k.leakedBuffers()).isZero();
        assertThat(k.kernel().routes().routes()).extracting(Route::ifp).doesNotContain(ifp);
    }
}
