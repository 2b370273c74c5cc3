package org.kextnet.kernel.link.tun;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kernel.wire.VirtioNet;

/**
 * The TUN driver with virtio-net headers, over one end of a datagram socket pair that stands for the device: the test
 * writes what Linux would write to a TUN device with offloads (a header, then the packet) and reads what the stack
 * sends, so it plays Linux's part byte for byte, without root. TCP runs for real on the stack's side.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunOffloadTest {
    private static final int PEER = Ipv4.parse("10.9.0.1"), LOCAL = Ipv4.parse("10.9.0.2");
    private static final int PEER_PORT = 40000, PORT = 9000, MSS = 1460, PEER_ISS = 7_000_000;
    private static final int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment io = arena.allocate(70_000, 64);
    private final MemorySegment state = Libc.newCallState(arena);
    private Kernel kernel;
    private Interface ifp;
    private int peerFd = -1;
    private int peerSeq = PEER_ISS + 1, stackSeq;

    @BeforeEach void start() throws Throwable {
        MethodHandle socketpair = Linker.nativeLinker().downcallHandle(
                Linker.nativeLinker().defaultLookup().find("socketpair").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS));
        MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
        int r = (int) socketpair.invokeExact(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
        assertThat(r).as("socketpair").isZero();
        peerFd = fds.getAtIndex(ValueLayout.JAVA_INT, 1);
        TunDevice device = TunDevice.adopt("kxo-pair", TunDevice.Kind.TUN, new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0)}, true);
        kernel = new Kernel("kxo-offload", Buffers.standard());
        ifp = kernel.createInterface("tun0", IfFamily.TUN, new TunDriver(device, null), 0, 1500);
        kernel.addAddress(ifp, InterfaceAddress.parse("10.9.0.2/24"));
        ifp.up();
    }

    @AfterEach void stop() {
        if (kernel != null) kernel.close();
        if (peerFd >= 0) Libc.close(state, peerFd);
        arena.close();
    }

    // ---------------------------------------------------------------- Linux's side

    /** An IPv4 TCP packet from the peer with full checksums; {@code mss} > 0 adds the MSS option (a SYN). */
    private static byte[] tcp(int flags, int seq, int ack, byte[] payload, int mss) {
        return tcp(LOCAL, flags, seq, ack, payload, mss);
    }

    private static byte[] tcp(int dst, int flags, int seq, int ack, byte[] payload, int mss) {
        int thl = mss > 0 ? 24 : 20;
        int len = 20 + thl + payload.length;
        MemorySegment s = MemorySegment.ofArray(new byte[len]);
        Ipv4.write(s, 0, 0, len, 1, Ipv4.FLAG_DF, 64, Ipv4.PROTO_TCP, PEER, dst);
        Tcp.write(s, 20, PEER_PORT, PORT, seq, ack, thl, flags, 65535, 0);
        if (mss > 0) Tcp.writeMss(s, 40, mss);
        MemorySegment.copy(MemorySegment.ofArray(payload), 0, s, 20 + thl, payload.length);
        Tcp.fillChecksum(s, 20, thl + payload.length, Checksum.pseudoHeader(PEER, dst, Ipv4.PROTO_TCP, thl + payload.length));
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Writes one frame: a virtio-net header then {@code packet}, as Linux hands one to the device's reader. */
    private void send(byte[] header, byte[] packet) {
        MemorySegment.copy(MemorySegment.ofArray(header), 0, io, 0, header.length);
        MemorySegment.copy(MemorySegment.ofArray(packet), 0, io, header.length, packet.length);
        long n = Libc.write(peerFd, io.address(), header.length + packet.length);
        assertThat(n).as("written to the socket pair").isEqualTo(header.length + packet.length);
    }

    private static byte[] header(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        MemorySegment h = MemorySegment.ofArray(new byte[VirtioNet.HEADER_LENGTH]);
        VirtioNet.write(h, 0, flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset);
        return h.toArray(ValueLayout.JAVA_BYTE);
    }

    private static final byte[] NONE = new byte[VirtioNet.HEADER_LENGTH];

    /** The next frame the stack sent (header included), waiting up to 5 s. */
    private byte[] receive() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        MemorySegment pollfd = arena.allocate(Libc.POLLFD_SIZE, 8);
        pollfd.set(ValueLayout.JAVA_INT, 0, peerFd);
        pollfd.set(ValueLayout.JAVA_SHORT, Libc.POLLFD_EVENTS, Libc.POLLIN);
        while (System.nanoTime() < deadline) {
            long n = Libc.read(peerFd, io.address(), io.byteSize());
            if (n > 0) return io.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
            Libc.poll(pollfd.address(), 1, 100);
        }
        throw new AssertionError("the stack sent nothing within 5 s");
    }

    /** Frames until one carries a TCP segment with {@code flag}; returns it. */
    private byte[] receiveTcp(int flag) {
        while (true) {
            byte[] f = receive();
            MemorySegment s = MemorySegment.ofArray(f);
            if (Ipv4.protocol(s, 10) == Ipv4.PROTO_TCP && (Tcp.flags(s, 30) & flag) == flag) return f;
        }
    }

    /** The handshake with the stack's listener on {@link #PORT}; returns the accepted socket. */
    private TcpSocket connect() throws Exception {
        TcpSocket listener = kernel.tcp().open();
        listener.bind(0, PORT);
        listener.listen(4);
        send(NONE, tcp(Tcp.SYN, PEER_ISS, 0, new byte[0], MSS));
        byte[] synAck = receiveTcp(Tcp.SYN | Tcp.ACK);
        assertThat(Arrays.copyOf(synAck, VirtioNet.HEADER_LENGTH)).as("an ordinary packet's header is all zero").isEqualTo(NONE);
        stackSeq = Tcp.seq(MemorySegment.ofArray(synAck), 30) + 1;
        send(NONE, tcp(Tcp.ACK, peerSeq, stackSeq, new byte[0], 0));
        TcpSocket so = listener.accept(10, TimeUnit.SECONDS);
        assertThat(so).as("accepted").isNotNull();
        so.setTimeout(10, TimeUnit.SECONDS);
        return so;
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + seed + (i >>> 9));
        return b;
    }

    // ---------------------------------------------------------------- the tests

    @Test void aGsoSuperPacketFromLinuxGoesUpAsOneSegmentWithItsChecksumLeftPartial() throws Exception {
        TcpSocket so = connect();
        byte[] data = pattern(30_000, 1);
        byte[] p = tcp(Tcp.ACK | Tcp.PSH, peerSeq, stackSeq, data, 0);
        // As Linux leaves a TSO packet: the checksum field holds the pseudo-header sum only (CHECKSUM_PARTIAL).
        MemorySegment ps = MemorySegment.ofArray(p);
        Tcp.setChecksum(ps, 20, Checksum.fold(Checksum.pseudoHeader(PEER, LOCAL, Ipv4.PROTO_TCP, 20 + data.length)));
        long segmentsBefore = kernel.stats().get(Stat.TCP_RCV_TOTAL);
        send(header(VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_TCPV4, 40, 1448, 20, 16), p);
        peerSeq += data.length;

        ByteBuffer got = ByteBuffer.allocate(data.length);
        while (got.hasRemaining()) assertThat(so.read(got)).as("read").isPositive();
        assertThat(got.array()).isEqualTo(data);
        assertThat(kernel.stats().get(Stat.TCP_RCV_TOTAL) - segmentsBefore).as("one segment went up").isEqualTo(1);
        assertThat(kernel.stats().get(Stat.TCP_RCV_BAD_SUM)).isZero();
        byte[] ack = receiveTcp(Tcp.ACK);
        while (Tcp.ack(MemorySegment.ofArray(ack), 30) != peerSeq) ack = receiveTcp(Tcp.ACK);
        assertThat(kernel.stats().get(Stat.LINK_BAD_VNET_HEADER)).isZero();
    }

    @Test void malformedHeadersAreCountedAndDroppedAndTheirDataNeverArrives() throws Exception {
        TcpSocket so = connect();
        byte[] data = pattern(1000, 2);
        byte[] p = tcp(Tcp.ACK | Tcp.PSH, peerSeq, stackSeq, data, 0);
        long errors = ifp.counters().get(IfCounters.IERRORS);
        send(new byte[0], new byte[] {1, 2, 3, 4, 5});                                            // shorter than a header
        send(header(VirtioNet.F_RSC_INFO, 0, 0, 0, 0, 0), p);                                     // a flag never negotiated
        send(header(VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_UDP, 28, 1000, 20, 6), p);              // UFO, never offered
        send(header(VirtioNet.F_NEEDS_CSUM, 0, 0, 0, 20, p.length), p);                           // checksum past the end
        send(header(0, VirtioNet.GSO_TCPV4, 40, 536, 0, 0), p);                                   // GSO without NEEDS_CSUM
        send(header(VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_TCPV4, p.length + 1, 536, 20, 16), p); // headers past the end

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (kernel.stats().get(Stat.LINK_BAD_VNET_HEADER) < 6 && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(kernel.stats().get(Stat.LINK_BAD_VNET_HEADER)).isEqualTo(6);
        assertThat(ifp.counters().get(IfCounters.IERRORS) - errors).isEqualTo(6);
        // The same segment with a good header goes up: only it.
        send(NONE, p);
        ByteBuffer got = ByteBuffer.allocate(2000);
        while (got.position() < data.length) assertThat(so.read(got)).isPositive();
        assertThat(got.position()).isEqualTo(data.length);
        assertThat(Arrays.copyOf(got.array(), data.length)).isEqualTo(data);
    }

    @Test void aForwardedGsoPacketIsCutIntoSegmentsBeforeADeviceThatDoesNotSegment() throws Exception {
        List<byte[]> out = new java.util.concurrent.CopyOnWriteArrayList<>();
        Interface cap = kernel.createInterface("cap0", IfFamily.TUN, (ctx, m) -> {
            out.add(m.toByteArray());
            m.free();
            return true;
        }, 0, 1500);
        kernel.addAddress(cap, InterfaceAddress.parse("10.10.0.2/24"));
        cap.up();
        kernel.setForwarding(true);
        int far = Ipv4.parse("10.10.0.1");
        byte[] data = pattern(10_000, 5);
        byte[] p = tcp(far, Tcp.ACK | Tcp.PSH, 5000, 1, data, 0);
        Tcp.setChecksum(MemorySegment.ofArray(p), 20, Checksum.fold(Checksum.pseudoHeader(PEER, far, Ipv4.PROTO_TCP, 20 + data.length)));
        send(header(VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_TCPV4, 40, 1448, 20, 16), p);

        int n = (data.length + 1447) / 1448;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (out.size() < n && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(out).hasSize(n);
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            MemorySegment s = MemorySegment.ofArray(out.get(i));
            int len = Math.min(1448, data.length - i * 1448);
            assertThat(s.byteSize()).isEqualTo(40 + len);
            assertThat(Ipv4.ttl(s, 0)).as("forwarded: TTL turned").isEqualTo(63);
            assertThat(Checksum.checksum(s, 0, 20)).isZero();
            assertThat(Tcp.seq(s, 20)).isEqualTo(5000 + i * 1448);
            assertThat(Tcp.flags(s, 20) & Tcp.PSH).isEqualTo(i == n - 1 ? Tcp.PSH : 0);
            assertThat(Tcp.computeChecksum(s, 20, 20 + len, Checksum.pseudoHeader(PEER, far, Ipv4.PROTO_TCP, 20 + len)))
                    .as("a finished checksum").isZero();
            joined.write(out.get(i), 40, len);
        }
        assertThat(joined.toByteArray()).isEqualTo(data);
    }

    @Test void onlyAGsoPacketMayBeLargerThanTheMtu() throws Exception {
        long errors = ifp.counters().get(IfCounters.IERRORS), segments = kernel.stats().get(Stat.TCP_RCV_TOTAL);
        send(NONE, tcp(Tcp.ACK, peerSeq, 1, pattern(3000, 4), 0)); // Linux's side with a larger MTU than ours
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ifp.counters().get(IfCounters.IERRORS) == errors && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(ifp.counters().get(IfCounters.IERRORS) - errors).as("counted as an oversized frame").isEqualTo(1);
        assertThat(kernel.stats().get(Stat.TCP_RCV_TOTAL)).as("nothing went up").isEqualTo(segments);
        assertThat(kernel.stats().get(Stat.LINK_BAD_VNET_HEADER)).isZero();
    }

    @Test void tcpSendsSuperSegmentsWithAGsoHeaderForLinuxToCut() throws Exception {
        TcpSocket so = connect();
        byte[] data = pattern(200_000, 3);
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                so.write(ByteBuffer.wrap(data));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        List<Integer> sizes = new ArrayList<>();
        while (stream.size() < data.length) {
            byte[] f = receive();
            MemorySegment s = MemorySegment.ofArray(f);
            int ip = VirtioNet.HEADER_LENGTH;
            if (Ipv4.protocol(s, ip) != Ipv4.PROTO_TCP) continue;
            int total = Ipv4.totalLength(s, ip);
            assertThat(total).as("IP total length").isEqualTo(f.length - ip);
            assertThat(Checksum.checksum(s, ip, 20)).as("IP header checksum").isZero();
            assertThat(Ipv4.dontFragment(s, ip)).isTrue();
            int t = ip + 20;
            int thl = Tcp.headerLength(s, t);
            int payload = total - 20 - thl;
            assertThat(Tcp.seq(s, t)).as("in order").isEqualTo(stackSeq + stream.size());
            if (payload > MSS) {
                sizes.add(payload);
                assertThat(total).isGreaterThan(ifp.mtu()).isLessThanOrEqualTo(TunDriver.TSO_MAX);
                assertThat(VirtioNet.flags(s, 0)).isEqualTo(VirtioNet.F_NEEDS_CSUM);
                assertThat(VirtioNet.gsoType(s, 0)).isEqualTo(VirtioNet.GSO_TCPV4);
                assertThat(VirtioNet.gsoSize(s, 0)).as("gso_size: the MSS").isEqualTo(MSS);
                assertThat(VirtioNet.csumStart(s, 0)).isEqualTo(20);
                assertThat(VirtioNet.csumOffset(s, 0)).isEqualTo(Tcp.CHECKSUM);
                assertThat(VirtioNet.hdrLen(s, 0)).isEqualTo(20 + thl);
                assertThat(payload % MSS == 0 || stream.size() + payload == data.length).as("whole segments but the last").isTrue();
                assertThat(Tcp.checksum(s, t)).as("the pseudo-header sum, for Linux to finish")
                        .isEqualTo(Checksum.fold(Checksum.pseudoHeader(LOCAL, PEER, Ipv4.PROTO_TCP, thl + payload)));
                // what Linux's segmentation then computes checks out over the whole segment
                int finished = ~Checksum.fold(Checksum.sum(s, t, thl + payload, 0)) & 0xffff;
                Tcp.setChecksum(s, t, finished);
                assertThat(Tcp.computeChecksum(s, t, thl + payload, Checksum.pseudoHeader(LOCAL, PEER, Ipv4.PROTO_TCP, thl + payload))).isZero();
            } else {
                assertThat(Arrays.copyOf(f, VirtioNet.HEADER_LENGTH)).isEqualTo(NONE);
                assertThat(Tcp.computeChecksum(s, t, thl + payload, Checksum.pseudoHeader(LOCAL, PEER, Ipv4.PROTO_TCP, thl + payload))).isZero();
            }
            stream.write(f, t + thl, payload);
            send(NONE, tcp(Tcp.ACK, peerSeq, stackSeq + stream.size(), new byte[0], 0)); // ACK each: the window moves
        }
        writer.join(10_000);
        assertThat(stream.toByteArray()).isEqualTo(data);
        assertThat(sizes).as("super-segments").isNotEmpty();
        assertThat(kernel.stats().get(Stat.TCP_SND_TSO)).isEqualTo(sizes.size());
        assertThat(ifp.counters().get(IfCounters.OERRORS)).isZero();
    }
}
