package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SockOpt;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketAttachment;
import org.kextnet.kpi.socketfilter.SocketEvent;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;
import org.kextnet.kpi.socketfilter.SocketFilterRef;

/** Socket filters on UDP sockets: attachment, every callback with its arguments and order, data, injection. */
class SocketFilterTest {
    private static final int HANDLE = 0xBABABABA;
    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.sflt");
    }

    @AfterEach void tearDown() { k.close(); }

    private static SocketFilterParams udp(int handle, int flags) {
        return new SocketFilterParams(handle, flags, "logger", ProtocolFamily.PF_INET, SocketConstants.SOCK_DGRAM, SocketConstants.IPPROTO_UDP);
    }

    /** Records every callback as "name args", keeping a per-socket cookie. */
    private final class Recorder implements SocketFilter {
        @Override public void unregistered(int handle) { calls.add("unregistered " + Integer.toHexString(handle)); }
        @Override public int attach(SocketAttachment a) {
            a.setCookie("cookie-" + calls.size());
            calls.add("attach " + a.socket().type() + "/" + a.socket().protocol());
            return 0;
        }
        @Override public void detach(SocketAttachment a) { calls.add("detach " + a.cookie()); }
        @Override public void notify(SocketAttachment a, int event, int param) { calls.add("notify " + SocketEvent.name(event) + " " + param); }
        @Override public int getPeerName(SocketAttachment a, SockAddr sa) { calls.add("getpeername " + sa); return 0; }
        @Override public int getSockName(SocketAttachment a, SockAddr sa) {
            calls.add("getsockname " + sa);
            sa.setPort(4242); // filters may rewrite the name
            return 0;
        }
        @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
            calls.add("data_in " + from + " " + new String(data.toByteArray(), StandardCharsets.US_ASCII) + " " + a.cookie());
            return 0;
        }
        @Override public int dataOut(SocketAttachment a, SockAddr to, Mbuf data, Mbuf control, int flags) {
            calls.add("data_out " + to + " " + new String(data.toByteArray(), StandardCharsets.US_ASCII));
            return 0;
        }
        @Override public int connectOut(SocketAttachment a, SockAddr to) { calls.add("connect_out " + to); return 0; }
        @Override public int bind(SocketAttachment a, SockAddr to) { calls.add("bind " + to); return 0; }
        @Override public int setOption(SocketAttachment a, SockOpt opt) {
            byte[] v = new byte[opt.valueSize()];
            opt.copyIn(v);
            calls.add("setoption " + opt.level() + "/" + opt.name() + " " + v.length);
            return opt.name() == 0x7777 ? Errno.EJUSTRETURN : 0;
        }
        @Override public int getOption(SocketAttachment a, SockOpt opt) {
            calls.add("getoption " + opt.name());
            if (opt.name() == 0x7777) {
                opt.copyOut(new byte[] {7});
                return Errno.EJUSTRETURN;
            }
            return 0;
        }
        @Override public int ioctl(SocketAttachment a, long request, Object arg) { calls.add("ioctl " + request); return Errno.EJUSTRETURN; }
    }

    @Test void globalFilterSeesTheWholeLifeOfASocketInOrder() throws Exception {
        SocketFilterRef ref = kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new Recorder());
        UdpSocket so = k.kernel().udp().open();
        so.bind(0, 5000);
        so.connect(k.peerIp(), 9);
        so.send(ByteBuffer.wrap("out".getBytes(StandardCharsets.US_ASCII)));
        so.send(ByteBuffer.wrap("to".getBytes(StandardCharsets.US_ASCII)), k.peerIp(), 10);
        k.injectIp(Pkt.udp(9, 5000, "in".getBytes(StandardCharsets.US_ASCII)).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        UdpDatagram d = so.tryReceive(ByteBuffer.allocate(16));
        assertThat(d.sourcePort()).isEqualTo(9);
        assertThat(so.getSockName().port()).isEqualTo(4242);
        assertThat(so.getPeerName().port()).isEqualTo(9);
        so.setOption(0x10, 0x7777, new byte[] {1, 2});
        assertThat(so.getOption(0x10, 0x7777)).containsExactly(7);
        assertThat(so.ioctl(99, null)).isZero();
        so.shutdown(SocketConstants.SHUT_RDWR);
        so.close();
        k.awaitDetached();
        String peer = Ipv4.format(k.peerIp());
        assertThat(calls).containsExactly(
                "attach 2/17",
                "bind 0.0.0.0:5000",
                "notify bound 0",
                "connect_out " + peer + ":9",
                "notify connecting 0",
                "notify connected 0",
                "data_out null out",
                "data_out " + peer + ":10 to",
                "data_in " + peer + ":9 in cookie-0",
                "getsockname 0.0.0.0:5000",
                "getpeername " + peer + ":9",
                "setoption 16/30583 2",
                "getoption 30583",
                "ioctl 99",
                "notify shutdown 2",
                "notify flush-read 0",
                "notify cantrecvmore 0",
                "notify cantsendmore 0",
                "notify closing 0",
                "notify disconnected 0",
                "detach cookie-0");
        assertThat(ref.attachmentCount()).isZero();
        assertThat(k.drainOutbound("wire0")).hasSize(2);
    }

    @Test void programmaticFilterAttachesOnlyThroughSoNke() throws Exception {
        kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_PROG), new Recorder());
        UdpSocket plain = k.kernel().udp().open();
        UdpSocket chosen = k.kernel().udp().open();
        assertThat(calls).isEmpty();
        chosen.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_NKE, ByteBuffer.allocate(4).putInt(HANDLE).array());
        assertThat(calls).containsExactly("attach 2/17");
        assertThatThrownBy(() -> chosen.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_NKE, ByteBuffer.allocate(4).putInt(HANDLE).array()))
                .isInstanceOf(SocketError.class).matches(e -> ((SocketError) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> plain.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_NKE, ByteBuffer.allocate(4).putInt(0x1234).array()))
                .matches(e -> ((SocketError) e).errno() == Errno.ENOENT);
        calls.clear();
        plain.bind(0, 6000);
        chosen.bind(0, 6001);
        assertThat(calls).containsExactly("bind 0.0.0.0:6001", "notify bound 0");
        plain.close();
        chosen.close();
    }

    @Test void registrationRules() throws Exception {
        kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new Recorder());
        assertThatThrownBy(() -> kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_PROG), new Recorder()))
                .matches(e -> ((KpiException) e).errno() == Errno.EEXIST);
        assertThatThrownBy(() -> kpi.socketFilters().register(udp(1, 0), new Recorder()))
                .matches(e -> ((KpiException) e).errno() == Errno.EINVAL);
        assertThatThrownBy(() -> kpi.socketFilters().register(udp(2, SocketFilterParams.FLAG_GLOBAL | SocketFilterParams.FLAG_PROG), new Recorder()))
                .matches(e -> ((KpiException) e).errno() == Errno.EINVAL);
        assertThatThrownBy(() -> kpi.socketFilters().register(udp(0, SocketFilterParams.FLAG_GLOBAL), new Recorder()))
                .matches(e -> ((KpiException) e).errno() == Errno.EINVAL);
    }

    @Test void declinedAttachLeavesTheSocketUnfiltered() throws Exception {
        kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new SocketFilter() {
            @Override public int attach(SocketAttachment a) { return Errno.EPERM; }
            @Override public int bind(SocketAttachment a, SockAddr to) { calls.add("bind"); return 0; }
        });
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        assertThat(so.filters().handles()).isEmpty();
        assertThat(calls).isEmpty();
        so.close();
    }

    @Test void bindAndConnectRefusalsAndEjustreturn() throws Exception {
        kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new SocketFilter() {
            @Override public int bind(SocketAttachment a, SockAddr to) { return to.port() == 23 ? Errno.EACCES : to.port() == 24 ? Errno.EJUSTRETURN : 0; }
            @Override public int connectOut(SocketAttachment a, SockAddr to) { return Errno.ECONNREFUSED; }
        });
        UdpSocket so = k.kernel().udp().open();
        assertThatThrownBy(() -> so.bind(0, 23)).matches(e -> ((SocketError) e).errno() == Errno.EACCES);
        so.bind(0, 24);
        assertThat(so.localPort()).isZero(); // handled by the filter: success, the protocol never saw it
        assertThatThrownBy(() -> so.connect(k.peerIp(), 9)).matches(e -> ((SocketError) e).errno() == Errno.ECONNREFUSED);
        assertThat(so.isConnected()).isFalse();
        so.close();
    }

    @Test void swallowedDataInIsReinjectedOnceAndInOrderResumingAfterTheInjector() throws Exception {
        ArrayDeque<Mbuf> held = new ArrayDeque<>();
        List<String> after = new ArrayList<>();
        kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new SocketFilter() {
            @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
                held.add(data);
                return Errno.EJUSTRETURN;
            }
        });
        kpi.socketFilters().register(udp(2, SocketFilterParams.FLAG_GLOBAL), new SocketFilter() {
            @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
                after.add(new String(data.toByteArray(), StandardCharsets.US_ASCII));
                return 0;
            }
        });
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        for (int i = 0; i < 5; i++) k.injectIp(Pkt.udp(9, 5000, ("m" + i).getBytes(StandardCharsets.US_ASCII)).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        assertThat(so.available()).isZero();
        assertThat(k.stat(Stat.UDP_FILTER_TAKEN)).isEqualTo(5);
        assertThat(after).isEmpty();
        while (!held.isEmpty()) assertThat(kpi.socketFilters().injectDataIn(so, HANDLE, SockAddr.of(k.peerIp(), 9), held.poll(), null, 0)).isZero();
        assertThat(after).containsExactly("m0", "m1", "m2", "m3", "m4");
        ByteBuffer b = ByteBuffer.allocate(16);
        for (int i = 0; i < 5; i++) {
            b.clear();
            UdpDatagram d = so.tryReceive(b);
            assertThat(new String(b.array(), 0, d.length(), StandardCharsets.US_ASCII)).isEqualTo("m" + i);
            assertThat(d.sourceAddress()).isEqualTo(k.peerIp());
        }
        so.close();
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void swallowedDataOutIsReinjectedAndSentOnce() throws Exception {
        ArrayDeque<Mbuf> held = new ArrayDeque<>();
        int tag = kpi.mbufs().tagIdFind("com.example.sflt");
        kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new SocketFilter() {
            @Override public int dataOut(SocketAttachment a, SockAddr to, Mbuf data, Mbuf control, int flags) {
                if (data.tagFind(tag, 1) != null) return 0;
                data.tagAllocate(tag, 1, 1);
                held.add(data);
                return Errno.EJUSTRETURN;
            }
        });
        UdpSocket so = k.kernel().udp().open();
        so.connect(k.peerIp(), 9);
        for (int i = 0; i < 3; i++) assertThat(so.send(ByteBuffer.wrap(("s" + i).getBytes(StandardCharsets.US_ASCII)))).isEqualTo(2);
        assertThat(k.readOutbound()).isNull();
        while (!held.isEmpty()) assertThat(kpi.socketFilters().injectDataOut(so, 0, null, held.poll(), null, 0)).isZero();
        for (int i = 0; i < 3; i++) {
            byte[] ip = k.readOutboundIp();
            assertThat(new String(Frame.ofIp(ip).udpPayload(), StandardCharsets.US_ASCII)).isEqualTo("s" + i);
            assertThat(Frame.ofIp(ip).udpDstPort()).isEqualTo(9);
        }
        assertThat(k.readOutbound()).isNull();
        so.close();
    }

    @Test void dataErrorsDropAndFailTheSend() throws Exception {
        kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new SocketFilter() {
            @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf d, Mbuf c, int f) { return Errno.EPERM; }
            @Override public int dataOut(SocketAttachment a, SockAddr to, Mbuf d, Mbuf c, int f) { throw new IllegalStateException("bug"); }
        });
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        k.injectIp(Pkt.udp(9, 5000, new byte[3]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
        assertThat(so.available()).isZero();
        assertThat(k.stat(Stat.UDP_FILTERED)).isEqualTo(1);
        assertThatThrownBy(() -> so.send(ByteBuffer.wrap(new byte[1]), k.peerIp(), 9)).matches(e -> ((SocketError) e).errno() == Errno.EIO);
        assertThat(kpi.faultCount()).isEqualTo(1);
        so.close();
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void unregisterStopsNewAttachmentsAndCompletesWhenTheLastSocketCloses() throws Exception {
        SocketFilterRef ref = kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new Recorder());
        UdpSocket a = k.kernel().udp().open();
        ref.unregister();
        UdpSocket b = k.kernel().udp().open();
        assertThat(b.filters().handles()).isEmpty();
        assertThat(a.filters().handles()).containsExactly(HANDLE);
        k.awaitDetached();
        assertThat(calls).doesNotContain("unregistered babababa");
        assertThat(ref.state()).isEqualTo(Registration.State.DETACHING);
        a.close();
        k.awaitDetached();
        k.awaitDetached();
        assertThat(calls).endsWith("detach cookie-0", "unregistered babababa");
        assertThat(ref.state()).isEqualTo(Registration.State.DETACHED);
        assertThat(kpi.registrations()).isEmpty();
        b.close();
    }

    @Test void kpiDetachAndUnloadDetachFromLiveSockets() throws Exception {
        kpi.socketFilters().register(udp(HANDLE, SocketFilterParams.FLAG_GLOBAL), new Recorder());
        UdpSocket a = k.kernel().udp().open();
        UdpSocket b = k.kernel().udp().open();
        assertThat(kpi.socketFilters().detach(a, HANDLE)).isZero();
        assertThat(kpi.socketFilters().detach(a, HANDLE)).isEqualTo(Errno.ENOENT);
        k.awaitDetached();
        assertThat(a.filters().handles()).isEmpty();
        assertThat(kpi.removeAll()).isIn(0, Errno.EBUSY); // detaches from b; unregistered follows (maybe already)
        assertThat(kpi.awaitRemoved(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(b.filters().handles()).isEmpty();
        assertThat(calls).filteredOn(s -> s.startsWith("detach")).hasSize(2);
        assertThat(calls).last().isEqualTo("unregistered babababa");
        a.close();
        b.close();
    }
}
