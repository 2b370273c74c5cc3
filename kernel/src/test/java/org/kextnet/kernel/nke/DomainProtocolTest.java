package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.domain.ProtocolSocketImpl;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.domain.DomainKpi;
import org.kextnet.kpi.domain.ProtocolSocket;
import org.kextnet.kpi.domain.ProtocolSwitch;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * A new IP protocol from an extension (number 253, experimental, SOCK_RAW): IP delivers its packets to it after
 * the IP filters, applications open sockets of it, and it sends through IP output injection.
 */
class DomainProtocolTest {
    private static final int PROTO = 253;
    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.proto253");
    }

    @AfterEach void tearDown() { k.close(); }

    /** Delivers each packet's payload to every open socket; sends by building an IP header and injecting. */
    private final class Raw253 implements ProtocolSwitch {
        final List<ProtocolSocket> sockets = new CopyOnWriteArrayList<>();

        @Override public int type() { return SocketConstants.SOCK_RAW; }
        @Override public int protocol() { return PROTO; }

        @Override public void input(Mbuf m, int offset) {
            calls.add("input " + offset);
            int src = m.getInt(12);
            byte[] payload = new byte[m.packetLength() - offset];
            m.copyData(offset, payload, 0, payload.length);
            m.free();
            for (ProtocolSocket so : sockets) {
                Mbuf copy = kpi.mbufs().allocate(payload.length);
                copy.setLength(payload.length);
                copy.copyBack(0, payload, 0, payload.length);
                so.deliver(SockAddr.of(src, 0), copy);
            }
        }

        @Override public int attach(ProtocolSocket so) {
            sockets.add(so);
            calls.add("attach");
            return 0;
        }

        @Override public void detach(ProtocolSocket so) {
            sockets.remove(so);
            calls.add("detach");
        }

        @Override public int send(ProtocolSocket so, Mbuf data, SockAddr to, int flags) {
            byte[] payload = data.toByteArray();
            data.free();
            byte[] ip = Pkt.raw(PROTO, payload).withSrc(k.ip()).withDst(to.ipv4()).ipBytes();
            Mbuf m = kpi.mbufs().allocate(ip.length);
            m.setLength(ip.length);
            m.copyBack(0, ip, 0, ip.length);
            return kpi.ipFilters().injectOutput(m, null, null);
        }

        @Override public void removed() { calls.add("removed"); }
    }

    @Test void packetsOfTheProtocolReachItsSocketsAndSocketsSendThroughIt() throws Exception {
        Raw253 pr = new Raw253();
        DomainKpi.ProtocolRef ref = kpi.domains().addProtocol(ProtocolFamily.PF_INET, pr);
        ProtocolSocketImpl so = k.kernel().domains().open(ProtocolFamily.PF_INET, SocketConstants.SOCK_RAW, PROTO);
        assertThat(ref.socketCount()).isEqualTo(1);
        k.injectIp(Pkt.raw(PROTO, "hello 253".getBytes()).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        ByteBuffer b = ByteBuffer.allocate(32);
        SockAddr from = so.receive(b, 1, TimeUnit.SECONDS);
        assertThat(from.ipv4()).isEqualTo(k.peerIp());
        assertThat(new String(b.array(), 0, b.position())).isEqualTo("hello 253");
        assertThat(k.stat(Stat.IP_NO_PROTO)).isZero();
        so.send(ByteBuffer.wrap("out".getBytes()), SockAddr.of(k.peerIp(), 0));
        byte[] ip = k.readOutboundIp();
        assertThat(Frame.ofIp(ip).protocol()).isEqualTo(PROTO);
        assertThat(new String(ip, 20, 3)).isEqualTo("out");
        // Removal is refused while a socket is open.
        assertThat(kpi.domains().removeProtocol(ref)).isEqualTo(Errno.EBUSY);
        so.close();
        assertThat(kpi.domains().removeProtocol(ref)).isZero();
        k.awaitDetached();
        assertThat(calls).containsExactly("attach", "input 20", "detach", "removed");
        assertThat(ref.state()).isEqualTo(Registration.State.DETACHED);
        // Unknown again: protocol unreachable.
        k.injectIp(Pkt.raw(PROTO, new byte[4]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        assertThat(k.stat(Stat.IP_NO_PROTO)).isEqualTo(1);
        assertThatThrownBy(() -> k.kernel().domains().open(ProtocolFamily.PF_INET, SocketConstants.SOCK_RAW, PROTO))
                .matches(e -> ((SocketError) e).errno() == Errno.EPROTONOSUPPORT);
    }

    @Test void addRules() throws Exception {
        kpi.domains().addProtocol(ProtocolFamily.PF_INET, new Raw253());
        assertThatThrownBy(() -> kpi.domains().addProtocol(ProtocolFamily.PF_INET, new Raw253()))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> kpi.domains().addProtocol(ProtocolFamily.PF_INET, new ProtocolSwitch() {
            @Override public int type() { return SocketConstants.SOCK_DGRAM; }
            @Override public int protocol() { return SocketConstants.IPPROTO_UDP; }
        })).matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> kpi.domains().addProtocol(ProtocolFamily.PF_SYSTEM, new Raw253()))
                .matches(e -> ((KpiException) e).errno() == Errno.EAFNOSUPPORT);
        assertThatThrownBy(() -> k.kernel().domains().open(ProtocolFamily.PF_INET, SocketConstants.SOCK_DGRAM, PROTO))
                .matches(e -> ((SocketError) e).errno() == Errno.EPROTONOSUPPORT);
    }
}
