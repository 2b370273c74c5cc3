package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
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
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.protocol.ProtocolHandler;
import org.kextnet.kpi.protocol.ProtocolKpi;
import org.kextnet.kpi.protocol.ProtocolPlumber;

/** Protocol plumbers and attachments, the kernel's own IPv4 plumbing included. */
class ProtocolPlumberTest {
    private static final int PF_TEST = 200, ETHERTYPE_TEST = 0x88b5;
    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.proto");
    }

    @AfterEach void tearDown() { k.close(); }

    private void ping() {
        k.injectIp(Pkt.echo(1, 1, new byte[8]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
    }

    @Test void theKernelsIpv4IsPlumbedThroughTheSameKpi() {
        ProtocolKpi.AttachmentRef inet = k.ifp().protocols().inet;
        assertThat(inet).isNotNull();
        assertThat(inet.protocolFamily()).isEqualTo(ProtocolFamily.PF_INET);
        assertThat(inet.demux()).containsExactly(DemuxDescriptor.etherType(0x0800), DemuxDescriptor.etherType(0x0806));
        assertThat(((Registration) inet).kind()).isEqualTo("proto");
        assertThat(k.kernel().protocols().describe()).anyMatch(l -> l.startsWith("plumber inet/ethernet"));
    }

    @Test void unplumbingIpv4StopsItOnThatInterfaceAndPlumbingRestoresIt() throws Exception {
        ping();
        assertThat(k.readOutboundIp()).isNotNull(); // the echo reply
        assertThat(k.kernel().protocols().unplumb(k.ifp(), ProtocolFamily.PF_INET)).isZero();
        k.awaitDetached();
        assertThat(k.ifp().protocols().inet).isNull();
        ping();
        assertThat(k.readOutbound()).isNull();
        assertThat(k.stat(Stat.LINK_UNKNOWN_TYPE)).isEqualTo(1);
        try (UdpSocket so = k.kernel().udp().open()) {
            so.send(ByteBuffer.wrap(new byte[4]), k.peerIp(), 9); // routed to wire0, where IPv4 is gone
        }
        assertThat(k.stat(Stat.LINK_NO_PROTOCOL)).isEqualTo(1);
        assertThat(k.readOutbound()).isNull();
        assertThat(k.kernel().protocols().plumb(k.ifp(), ProtocolFamily.PF_INET)).isZero();
        assertThat(k.kernel().protocols().plumb(k.ifp(), ProtocolFamily.PF_INET)).isEqualTo(Errno.EEXIST);
        ping();
        assertThat(k.readOutboundIp()).isNotNull();
        assertThat(k.leakedBuffers()).isZero();
    }

    /** A new protocol family over Ethernet: plumbed by its plumber on every Ethernet interface, old and new. */
    @Test void anExtensionPlumbsItsOwnProtocolFamily() throws Exception {
        ProtocolHandler handler = new ProtocolHandler() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int frameHeader) {
                calls.add("input " + ifp.name() + " " + pf + " " + (m.offset() - frameHeader) + " " + m.length());
                m.free();
                return 0;
            }
            @Override public int preOutput(Ifnet ifp, int pf, Mbuf m, FrameInfo frame) {
                calls.add("pre_output " + frame.destination());
                frame.setFrameType(ETHERTYPE_TEST);
                frame.setLinkDestination(0x02_00_00_00_00_99L);
                return 0;
            }
            @Override public void event(Ifnet ifp, int pf, KernelEvent e) { calls.add("event " + KernelEvents.codeName(e)); }
            @Override public void detached(Ifnet ifp, int pf) { calls.add("detached " + ifp.name()); }
        };
        ProtocolKpi.PlumberRef plumber = kpi.protocols().registerPlumber(PF_TEST, IfnetFamily.ETHERNET, new ProtocolPlumber() {
            @Override public int plumb(Ifnet ifp, int pf) {
                calls.add("plumb " + ifp.name());
                try {
                    kpi.protocols().attachProtocol(ifp, pf, List.of(DemuxDescriptor.etherType(ETHERTYPE_TEST)), handler);
                    return 0;
                } catch (KpiException e) {
                    return e.errno();
                }
            }
        });
        assertThat(calls).containsExactly("plumb wire0", "event KEV_DL_PROTO_ATTACHED");
        assertThatThrownBy(() -> kpi.protocols().registerPlumber(PF_TEST, IfnetFamily.ETHERNET, (i, p) -> 0))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        calls.clear();
        k.injectInbound(Pkt.ethernet(k.link().kernelMac(), k.link().peerMac(), ETHERTYPE_TEST, new byte[50]));
        k.runPending();
        assertThat(calls).containsExactly("input wire0 200 14 50");
        calls.clear();
        org.kextnet.kernel.buf.Packet m = k.kernel().buffers().alloc(10);
        m.setLength(10);
        assertThat(k.ifp().output(PF_TEST, m, 42)).isZero();
        byte[] f = k.readOutbound();
        assertThat(new Frame(f).ethType()).isEqualTo(ETHERTYPE_TEST);
        assertThat(new Frame(f).ethDst()).isEqualTo(0x02_00_00_00_00_99L);
        assertThat(calls).containsExactly("pre_output 42");
        calls.clear();
        // A new Ethernet interface gets plumbed too, and the protocol sees its events.
        MemoryWire w = new MemoryWire("x", MemoryWire.Options.perfect().withPollMode(true));
        Interface x = k.kernel().createInterface("x0", IfFamily.ETHERNET, w.a(), 0x020000000555L, 1500);
        x.setMtu(1400);
        assertThat(calls).containsExactly("plumb x0", "event KEV_DL_PROTO_ATTACHED", "event KEV_DL_SIFMTU");
        calls.clear();
        plumber.unregister();
        k.awaitDetached();
        assertThat(calls).containsExactlyInAnyOrder("detached wire0", "detached x0");
        assertThat(kpi.registrations()).isEmpty();
        k.injectInbound(Pkt.ethernet(k.link().kernelMac(), k.link().peerMac(), ETHERTYPE_TEST, new byte[50]));
        k.runPending();
        assertThat(calls).hasSize(2);
        k.kernel().destroyInterface("x0");
    }

    @Test void interfaceFiltersSeeTheFamilyDemuxFound() throws Exception {
        kpi.protocols().attachProtocol(k.ifp(), PF_TEST, List.of(DemuxDescriptor.etherType(ETHERTYPE_TEST)), new ProtocolHandler() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int fh) { return Errno.EPROTONOSUPPORT; }
            @Override public int preOutput(Ifnet ifp, int pf, Mbuf m, FrameInfo f) { return 0; }
        });
        kpi.interfaceFilters().attach(k.ifp(), "sel", PF_TEST, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int fh) { calls.add("filter " + pf); return 0; }
        });
        k.injectInbound(Pkt.ethernet(k.link().kernelMac(), k.link().peerMac(), ETHERTYPE_TEST, new byte[50]));
        k.injectIp(Pkt.udp(1, 9, new byte[2]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        assertThat(calls).containsExactly("filter 200");
        assertThat(k.stat(Stat.LINK_NO_PROTOCOL)).isEqualTo(1); // the handler's error: the kernel freed the frame
        k.drainOutbound("wire0");
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void attachRules() throws Exception {
        ProtocolHandler h = new ProtocolHandler() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int fh) { m.free(); return 0; }
            @Override public int preOutput(Ifnet ifp, int pf, Mbuf m, FrameInfo f) { return 0; }
        };
        assertThatThrownBy(() -> kpi.protocols().attachProtocol(k.ifp(), ProtocolFamily.PF_INET, List.of(DemuxDescriptor.etherType(0x9000)), h))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> kpi.protocols().attachProtocol(k.ifp(), PF_TEST, List.of(DemuxDescriptor.etherType(0x0800)), h))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> kpi.protocols().attachProtocol(k.ifp(), PF_TEST, List.of(), h))
                .matches(e -> ((KpiException) e).errno() == Errno.EINVAL);
        assertThat(kpi.protocols().detachProtocol(k.ifp(), PF_TEST)).isEqualTo(Errno.ENOENT);
    }

    @Test void protocolInputDeliversToTheFamilysInput() throws Exception {
        List<Integer> got = new ArrayList<>();
        kpi.protocols().registerInput(PF_TEST, (pf, m) -> {
            got.add(m.length());
            m.free();
        });
        assertThatThrownBy(() -> kpi.protocols().registerInput(PF_TEST, (pf, m) -> m.free()))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        org.kextnet.kernel.buf.Packet m = k.kernel().buffers().alloc(7);
        m.setLength(7);
        assertThat(kpi.protocols().protoInject(PF_TEST, m)).isZero();
        assertThat(got).containsExactly(7);
        assertThat(kpi.protocols().unregisterInput(PF_TEST)).isZero();
        org.kextnet.kernel.buf.Packet n = k.kernel().buffers().alloc(7);
        assertThat(kpi.protocols().protoInput(PF_TEST, n)).isEqualTo(Errno.ENOENT);
        n.free();
        // PF_INET's input is the kernel's IPv4.
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        byte[] ip = Pkt.udp(1, 5000, new byte[3]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes();
        org.kextnet.kernel.buf.Packet p = k.kernel().buffers().alloc(ip.length);
        p.setLength(ip.length);
        p.copyFrom(0, ip, 0, ip.length);
        p.setRcvif(k.ifp());
        assertThat(kpi.protocols().protoInput(ProtocolFamily.PF_INET, p)).isZero();
        assertThat(so.available()).isEqualTo(1);
        so.close();
        k.kernel().addAddress(k.ifp(), InterfaceAddress.parse("10.5.0.1/24")); // unrelated: the kernel keeps working
    }
}
