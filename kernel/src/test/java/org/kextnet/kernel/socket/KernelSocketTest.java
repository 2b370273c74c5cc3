package org.kextnet.kernel.socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.domain.ProtocolSocketImpl;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.hook.FaultPolicy;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.domain.ProtocolSocket;
import org.kextnet.kpi.domain.ProtocolSwitch;
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

/**
 * The common socket ({@link KernelSocket}): the requests every socket has, with the socket filters in front
 * of the protocol, on UDP sockets and on the sockets of a protocol an extension adds; the rule that filters
 * run without the socket lock; detach after the calls inside a filter; resuming re-injection after a
 * filter that detached; ownership of injected data; faults.
 */
class KernelSocketTest {
    private static final int INET = ProtocolFamily.PF_INET, UDP = SocketConstants.IPPROTO_UDP, DGRAM = SocketConstants.SOCK_DGRAM;
    private static final int RAW_PROTO = 252;

    private KernelHarness k;
    private ExtensionHandle kpi;
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach void setUp() {
        k = KernelHarness.builder().ethernet("wire0", "10.0.0.1/24").faultPolicy(new FaultPolicy(3, false, false)).build();
        kpi = k.kpi("com.example.sockets");
    }

    @AfterEach void tearDown() {
        k.close();
        assertThat(k.leakedBuffers()).as("buffers leaked").isZero();
    }

    private static SocketFilterParams params(int handle, int flags, int type, int protocol) {
        return new SocketFilterParams(handle, flags, "f" + handle, INET, type, protocol);
    }

    private static String text(Mbuf m) { return new String(m.toByteArray(), StandardCharsets.US_ASCII); }

    private static void assertErrno(int errno, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(errno));
    }

    /** Waits (bounded) until {@code r}'s final callback ran: detach and unregistered each follow a grace period. */
    private void awaitFinal(Registration r) {
        for (int i = 0; i < 100 && (r.state() == Registration.State.ACTIVE || r.state() == Registration.State.DETACHING); i++) {
            k.awaitDetached();
        }
        assertThat(r.state()).as("final state of " + r.name()).isIn(Registration.State.DETACHED, Registration.State.FAULTED);
    }

    private void fromPeer(int sport, int dport, String payload) {
        k.injectIp(Pkt.udp(sport, dport, payload.getBytes(StandardCharsets.US_ASCII)).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();
    }

    private static String receive(UdpSocket so) throws SocketError {
        ByteBuffer b = ByteBuffer.allocate(2048);
        var d = so.tryReceive(b);
        return d == null ? null : new String(b.array(), 0, d.length(), StandardCharsets.US_ASCII);
    }

    /** Records each callback and checks that the socket's lock is not held while it runs. */
    private class Recorder implements SocketFilter {
        private final String name;

        Recorder(String name) { this.name = name; }

        private int log(SocketAttachment a, String what) {
            assertThat(((KernelSocket) a.socket()).isLockHeldByCurrentThread()).as("socket lock held in " + what).isFalse();
            calls.add(name + ":" + what);
            return 0;
        }

        @Override public int attach(SocketAttachment a) { return log(a, "attach"); }
        @Override public void detach(SocketAttachment a) { log(a, "detach"); }
        @Override public void unregistered(int handle) { calls.add(name + ":unregistered"); }
        @Override public void notify(SocketAttachment a, int event, int param) {
            log(a, SocketEvent.name(event) + (event == SocketEvent.SHUTDOWN ? " " + param : ""));
        }
        @Override public int bind(SocketAttachment a, SockAddr to) { return log(a, "bind " + to); }
        @Override public int connectOut(SocketAttachment a, SockAddr to) { return log(a, "connect_out " + to); }
        @Override public int listen(SocketAttachment a) { return log(a, "listen"); }
        @Override public int setOption(SocketAttachment a, SockOpt o) { return log(a, "setoption " + o.name()); }
        @Override public int getOption(SocketAttachment a, SockOpt o) { return log(a, "getoption " + o.name()); }
        @Override public int ioctl(SocketAttachment a, long request, Object argument) { return log(a, "ioctl " + Long.toHexString(request)); }
        @Override public int getSockName(SocketAttachment a, SockAddr sa) { return log(a, "getsockname " + sa); }
        @Override public int getPeerName(SocketAttachment a, SockAddr sa) { return log(a, "getpeername " + sa); }
        @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
            return log(a, "data_in " + from + " " + text(data));
        }
        @Override public int dataOut(SocketAttachment a, SockAddr to, Mbuf data, Mbuf control, int flags) {
            return log(a, "data_out " + to + " " + text(data));
        }
    }

    // ---- UDP ----

    @Test void listenOnUdpAsksTheFiltersThenFailsWithEopnotsupp() throws Exception {
        kpi.socketFilters().register(params(1, SocketFilterParams.FLAG_GLOBAL, DGRAM, UDP), new Recorder("r"));
        try (UdpSocket so = k.kernel().udp().open()) {
            assertErrno(Errno.EOPNOTSUPP, () -> so.listen(5));
        }
        assertThat(List.copyOf(calls)).contains("r:listen");
    }

    @Test void aConnectedUdpSocketDisconnectsBeforeItConnectsAgain() throws Exception {
        kpi.socketFilters().register(params(1, SocketFilterParams.FLAG_GLOBAL, DGRAM, UDP), new Recorder("r"));
        try (UdpSocket so = k.kernel().udp().open().connect(k.peerIp(), 53)) {
            calls.clear();
            so.connect(k.peerIp(), 54);
            assertThat(so.remotePort()).isEqualTo(54);
            so.disconnect();
            assertThat(so.isConnected()).isFalse();
            assertErrno(Errno.ENOTCONN, so::disconnect);
        }
        String peer = Ipv4.format(k.peerIp());
        assertThat(List.copyOf(calls)).startsWith("r:disconnected", "r:connect_out " + peer + ":54", "r:connecting", "r:connected", "r:disconnected");
    }

    @Test void shutdownNeedsAConnectedSocketAndEndsEachDirection() throws Exception {
        try (UdpSocket so = k.kernel().udp().open().bind(0, 5000)) {
            assertErrno(Errno.ENOTCONN, () -> so.shutdown(SocketConstants.SHUT_RD));
            assertErrno(Errno.EINVAL, () -> so.shutdown(7));
            so.connect(k.peerIp(), 6000);
            fromPeer(6000, 5000, "waiting");
            so.shutdown(SocketConstants.SHUT_RD);
            assertThat(so.available()).isZero();                       // flushed
            assertThat(so.receive(ByteBuffer.allocate(8), 1, TimeUnit.MINUTES)).isNull(); // at once: no more data
            fromPeer(6000, 5000, "late");
            assertThat(so.available()).isZero();
            so.shutdown(SocketConstants.SHUT_WR);
            assertErrno(Errno.EPIPE, () -> so.send(ByteBuffer.allocate(1)));
        }
    }

    @Test void fionreadGivesTheNextDatagramsLength() throws Exception {
        try (UdpSocket so = k.kernel().udp().open().bind(0, 5000)) {
            int[] n = {-1};
            assertThat(so.ioctl(UdpSocket.FIONREAD, n)).isZero();
            assertThat(n[0]).isZero();
            fromPeer(6000, 5000, "12345");
            assertThat(so.ioctl(UdpSocket.FIONREAD, n)).isZero();
            assertThat(n[0]).isEqualTo(5);
            assertThat(so.ioctl(0x1234, null)).isEqualTo(Errno.EOPNOTSUPP);
        }
    }

    @Test void filtersRunWithoutTheSocketLockAndMayCallBackIntoTheSocket() throws Exception {
        List<SockAddr> names = new ArrayList<>();
        kpi.socketFilters().register(params(1, SocketFilterParams.FLAG_GLOBAL, DGRAM, UDP), new Recorder("r") {
            @Override public void notify(SocketAttachment a, int event, int param) {
                super.notify(a, event, param);
                if (event != SocketEvent.BOUND) return;
                KernelSocket so = (KernelSocket) a.socket();
                try {
                    names.add(so.getSockName());
                    so.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, 3);
                } catch (SocketError e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        try (UdpSocket so = k.kernel().udp().open().bind(0, 5000)) {
            fromPeer(6000, 5000, "x"); // data_in, on the input thread, checks the lock too
            assertThat(names).containsExactly(SockAddr.of(0, 5000));
            assertThat(so.getIntOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF)).isEqualTo(3);
        }
        assertThat(List.copyOf(calls)).contains("r:data_in " + Ipv4.format(k.peerIp()) + ":6000 x");
    }

    /** Swallows every received datagram; re-injects them after itself on demand. */
    private final class Holder implements SocketFilter {
        final List<Mbuf> held = new ArrayList<>();
        final List<SockAddr> from = new ArrayList<>();

        @Override public int dataIn(SocketAttachment a, SockAddr f, Mbuf data, Mbuf control, int flags) {
            held.add(data);
            from.add(f.copy());
            return Errno.EJUSTRETURN;
        }

        void release(KernelSocket so, int self) {
            for (int i = 0; i < held.size(); i++) assertThat(kpi.socketFilters().injectDataIn(so, self, from.get(i), held.get(i), null, 0)).isZero();
            held.clear();
            from.clear();
        }
    }

    @Test void reinjectingAfterTheInjectorDetachedSkipsTheFiltersBeforeIt() throws Exception {
        kpi.socketFilters().register(params(1, SocketFilterParams.FLAG_GLOBAL, DGRAM, UDP), new Recorder("first"));
        Holder holder = new Holder();
        kpi.socketFilters().register(params(2, SocketFilterParams.FLAG_GLOBAL, DGRAM, UDP), holder);
        kpi.socketFilters().register(params(3, SocketFilterParams.FLAG_GLOBAL, DGRAM, UDP), new Recorder("last"));
        try (UdpSocket so = k.kernel().udp().open().bind(0, 5000)) {
            fromPeer(6000, 5000, "held");
            assertThat(kpi.socketFilters().detach(so, 2)).isZero(); // unloading: the holder flushes after detaching
            calls.clear();

            holder.release(so, 2);

            assertThat(List.copyOf(calls)).containsExactly("last:data_in " + Ipv4.format(k.peerIp()) + ":6000 held");
            assertThat(receive(so)).isEqualTo("held");
        }
    }

    @Test void injectingInLeavesTheDataToTheCallerOnErrorAndInjectingOutAlwaysConsumes() throws Exception {
        UdpSocket so = k.kernel().udp().open().bind(0, 5000);
        so.setQueueLimit(1);
        Mbuf a = kpi.mbufs().allocate(1), b = kpi.mbufs().allocate(1);
        a.setLength(1);
        b.setLength(1);
        assertThat(kpi.socketFilters().injectDataIn(so, 0, SockAddr.of(k.peerIp(), 1), a, null, 0)).isZero();
        assertThat(kpi.socketFilters().injectDataIn(so, 0, SockAddr.of(k.peerIp(), 1), b, null, 0)).isEqualTo(Errno.ENOBUFS);
        assertThat(b.isFree()).isFalse();
        so.close();
        assertThat(kpi.socketFilters().injectDataIn(so, 0, SockAddr.of(k.peerIp(), 1), b, null, 0)).isEqualTo(Errno.EBADF);
        assertThat(b.isFree()).isFalse();
        b.free();

        UdpSocket unconnected = k.kernel().udp().open();
        Mbuf c = kpi.mbufs().allocate(1);
        c.setLength(1);
        assertThat(kpi.socketFilters().injectDataOut(unconnected, 0, null, c, null, 0)).isEqualTo(Errno.EDESTADDRREQ);
        assertThat(c.isFree()).isTrue();
        unconnected.close();
        Mbuf d = kpi.mbufs().allocate(1);
        d.setLength(1);
        assertThat(kpi.socketFilters().injectDataOut(unconnected, 0, SockAddr.of(k.peerIp(), 53), d, null, 0)).isEqualTo(Errno.EBADF);
        assertThat(d.isFree()).isTrue();
    }

    @Test void detachAndUnregisteredWaitForACallStillInsideTheFilter() throws Exception {
        CountDownLatch inside = new CountDownLatch(1), release = new CountDownLatch(1);
        SocketFilterRef ref = kpi.socketFilters().register(params(5, SocketFilterParams.FLAG_GLOBAL, DGRAM, UDP), new SocketFilter() {
            @Override public int ioctl(SocketAttachment a, long request, Object argument) {
                calls.add("ioctl-enter");
                inside.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                calls.add("ioctl-return");
                return 0;
            }
            @Override public void detach(SocketAttachment a) { calls.add("detach"); }
            @Override public void unregistered(int handle) { calls.add("unregistered"); }
        });
        UdpSocket so = k.kernel().udp().open();
        Thread app = Thread.ofPlatform().start(() -> so.ioctl(UdpSocket.FIONREAD, new int[1]));
        assertThat(inside.await(30, TimeUnit.SECONDS)).isTrue();

        ref.unregisterAndDetachAll();
        assertThat(so.filters().handles()).isEmpty();               // no new call enters
        Thread.sleep(50); // gives a wrong implementation the chance to detach early (no time is asserted)
        assertThat(List.copyOf(calls)).containsExactly("ioctl-enter");
        release.countDown();
        app.join(TimeUnit.SECONDS.toMillis(30));
        awaitFinal(ref);

        assertThat(List.copyOf(calls)).containsExactly("ioctl-enter", "ioctl-return", "detach", "unregistered");
        assertThat(ref.state()).isEqualTo(Registration.State.DETACHED);
        so.close();
    }

    @Test void aThrowingFilterIsContainedThenQuarantined() throws Exception {
        SocketFilterRef ref = kpi.socketFilters().register(params(5, SocketFilterParams.FLAG_GLOBAL, DGRAM, UDP), new SocketFilter() {
            @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
                throw new IllegalStateException("bug");
            }
            @Override public void detach(SocketAttachment a) { calls.add("detach"); }
            @Override public void unregistered(int handle) { calls.add("unregistered"); }
        });
        try (UdpSocket so = k.kernel().udp().open().bind(0, 5000)) {
            for (int i = 0; i < 3; i++) fromPeer(6000, 5000, "x" + i); // the fault limit is 3
            awaitFinal(ref);
            fromPeer(6000, 5000, "after");

            assertThat(ref.faults()).isEqualTo(3);
            assertThat(ref.state()).isEqualTo(Registration.State.FAULTED);
            assertThat(List.copyOf(calls)).containsExactly("detach", "unregistered");
            assertThat(receive(so)).isEqualTo("after");
            assertThat(k.stat(Stat.UDP_FILTERED)).isEqualTo(3);
        }
    }

    // ---- a protocol an extension added ----

    /** A datagram protocol without wire format: sends are recorded, delivered back by the test. */
    private final class Loop implements ProtocolSwitch {
        final List<String> sent = Collections.synchronizedList(new ArrayList<>());

        @Override public int type() { return DGRAM; }
        @Override public int protocol() { return RAW_PROTO; }
        @Override public int send(ProtocolSocket so, Mbuf data, SockAddr to, int flags) {
            sent.add(to + " " + text(data));
            data.free();
            return 0;
        }
        @Override public int shutdown(ProtocolSocket so, int how) {
            calls.add("proto:shutdown " + how);
            return 0;
        }
    }

    @Test void aSocketOfAnExtensionsProtocolHasTheWholeSocketApiWithItsFilters() throws Exception {
        Loop proto = new Loop();
        kpi.domains().addProtocol(INET, proto);
        kpi.socketFilters().register(params(0xB0B, SocketFilterParams.FLAG_PROG, DGRAM, RAW_PROTO), new Recorder("p"));
        ProtocolSocketImpl so = k.kernel().domains().open(INET, DGRAM, RAW_PROTO);
        assertThat(so.filters().handles()).isEmpty();

        so.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_NKE, 0xB0B);
        so.bind(SockAddr.of(k.ip(), 7));
        so.connect(SockAddr.of(k.peerIp(), 9));
        so.send(ByteBuffer.wrap("out".getBytes(StandardCharsets.US_ASCII)), null);
        Mbuf in = kpi.mbufs().allocate(2);
        in.setLength(2);
        in.copyBack(0, "in".getBytes(StandardCharsets.US_ASCII), 0, 2);
        assertThat(so.deliver(SockAddr.of(k.peerIp(), 9), in)).isZero();
        ByteBuffer b = ByteBuffer.allocate(8);
        assertThat(so.receive(b, 1, TimeUnit.SECONDS)).isEqualTo(SockAddr.of(k.peerIp(), 9));
        assertThat(so.getSockName()).isEqualTo(SockAddr.of(k.ip(), 7));
        assertThat(so.getPeerName()).isEqualTo(SockAddr.of(k.peerIp(), 9));
        assertErrno(Errno.ENOPROTOOPT, () -> so.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUF, 1));
        assertErrno(Errno.EOPNOTSUPP, () -> so.listen(1));
        so.shutdown(SocketConstants.SHUT_RDWR);
        so.close();
        k.awaitDetached();

        String me = Ipv4.format(k.ip()), peer = Ipv4.format(k.peerIp());
        assertThat(proto.sent).containsExactly("null out");
        assertThat(List.copyOf(calls)).containsExactly(
                "p:attach",
                "p:bind " + me + ":7", "p:bound",
                "p:connect_out " + peer + ":9", "p:connecting", "p:connected",
                "p:data_out null out",
                "p:data_in " + peer + ":9 in",
                "p:getsockname " + me + ":7",
                "p:getpeername " + peer + ":9",
                "p:setoption " + SocketConstants.SO_SNDBUF,
                "p:listen",
                "p:shutdown 2", "p:flush-read", "p:cantrecvmore", "proto:shutdown 2", "p:cantsendmore",
                "p:closing", "p:disconnected",
                "p:detach");
    }
}
