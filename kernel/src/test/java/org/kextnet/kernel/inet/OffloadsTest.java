package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kernel.wire.Udp;

/**
 * IPv4 output of packets that left work to a device: a device that segments gets a TCP super-segment whole; any other
 * gets it cut into segments here (sizes, sequence numbers, flags, IP IDs, both checksums), never fragmented; a partial
 * checksum is finished before a device that would not finish it.
 */
class OffloadsTest {
    private static final int SRC = Ipv4.parse("10.8.0.2"), PLAIN_PEER = Ipv4.parse("10.8.0.1"), TSO_PEER = Ipv4.parse("10.7.0.1");
    private final Kernel kernel = new Kernel("kxo-gso", Buffers.standard());
    private final List<byte[]> plain = new CopyOnWriteArrayList<>(), segmenting = new CopyOnWriteArrayList<>();

    OffloadsTest() {
        Driver capture = (ctx, m) -> {
            plain.add(m.toByteArray());
            m.free();
            return true;
        };
        Driver tso = new Driver() {
            @Override public boolean transmit(PacketContext ctx, Packet m) {
                segmenting.add(m.toByteArray());
                m.free();
                return true;
            }

            @Override public int tsoMaxSize() { return 65535; }
        };
        Interface a = kernel.createInterface("cap0", IfFamily.TUN, capture, 0, 1500);
        kernel.addAddress(a, InterfaceAddress.parse("10.8.0.2/24"));
        a.up();
        Interface b = kernel.createInterface("tso0", IfFamily.TUN, tso, 0, 1500);
        kernel.addAddress(b, InterfaceAddress.parse("10.7.0.2/24"));
        b.up();
    }

    @AfterEach void close() { kernel.close(); }

    private static final int PAYLOAD = 10_000, SEGMENT = 1448, THL = 32, SEQ = 1000;

    /** A TCP super-segment as TCP builds one: timestamps option, FIN|PSH|CWR|ACK, the pseudo-header sum in the field. */
    private Packet superSegment(int dst) {
        Packet m = kernel.buffers().alloc(THL + PAYLOAD);
        m.setLength(THL + PAYLOAD);
        MemorySegment s = m.segment();
        long o = m.offset();
        Tcp.write(s, o, 5000, 80, SEQ, 77, THL, Tcp.ACK | Tcp.PSH | Tcp.FIN | Tcp.CWR, 1000, 0);
        Tcp.writeTimestamps(s, o + 20, 123, 456);
        for (int i = 0; i < PAYLOAD; i++) s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + THL + i, (byte) (i * 7 + (i >>> 8)));
        Tcp.setChecksum(s, o, Checksum.fold(Checksum.pseudoHeader(SRC, dst, Ipv4.PROTO_TCP, THL + PAYLOAD)));
        m.setCsumFlags(Packet.CSUM_PARTIAL | Packet.CSUM_DATA_VALID);
        m.setTsoSegmentSize(SEGMENT);
        return m;
    }

    private int output(Packet m, int dst, int protocol) {
        PacketContext ctx = kernel.contexts().acquire();
        try {
            return kernel.ipOutput().output(ctx, m, 0, dst, protocol, 64, 0, true);
        } finally {
            kernel.contexts().release(ctx);
        }
    }

    @Test void aSuperSegmentIsCutIntoSegmentsBeforeADeviceThatDoesNotSegment() {
        assertThat(output(superSegment(PLAIN_PEER), PLAIN_PEER, Ipv4.PROTO_TCP)).isZero();
        int n = (PAYLOAD + SEGMENT - 1) / SEGMENT;
        assertThat(plain).hasSize(n);
        int firstId = Ipv4.id(MemorySegment.ofArray(plain.get(0)), 0);
        byte[] joined = new byte[PAYLOAD];
        for (int i = 0; i < n; i++) {
            MemorySegment s = MemorySegment.ofArray(plain.get(i));
            int len = Math.min(SEGMENT, PAYLOAD - i * SEGMENT);
            boolean last = i == n - 1;
            assertThat(s.byteSize()).isEqualTo(20 + THL + len).isLessThanOrEqualTo(1500);
            assertThat(Ipv4.totalLength(s, 0)).isEqualTo(20 + THL + len);
            assertThat(Checksum.checksum(s, 0, 20)).as("IP header checksum").isZero();
            assertThat(Ipv4.dontFragment(s, 0)).isTrue();
            assertThat(Ipv4.isFragment(s, 0)).isFalse();
            assertThat(Ipv4.id(s, 0)).as("IDs count up").isEqualTo((firstId + i) & 0xffff);
            assertThat(Tcp.seq(s, 20)).isEqualTo(SEQ + i * SEGMENT);
            assertThat(Tcp.ack(s, 20)).isEqualTo(77);
            assertThat(Tcp.headerLength(s, 20)).as("options in every segment").isEqualTo(THL);
            int flags = Tcp.flags(s, 20);
            assertThat(flags & (Tcp.FIN | Tcp.PSH)).as("FIN and PSH on the last only").isEqualTo(last ? Tcp.FIN | Tcp.PSH : 0);
            assertThat(flags & Tcp.CWR).as("CWR on the first only").isEqualTo(i == 0 ? Tcp.CWR : 0);
            assertThat(flags & Tcp.ACK).isEqualTo(Tcp.ACK);
            assertThat(Tcp.computeChecksum(s, 20, THL + len, Checksum.pseudoHeader(SRC, PLAIN_PEER, Ipv4.PROTO_TCP, THL + len)))
                    .as("TCP checksum of segment %d", i).isZero();
            MemorySegment.copy(s, 20 + THL, MemorySegment.ofArray(joined), (long) i * SEGMENT, len);
        }
        Packet again = superSegment(PLAIN_PEER);
        byte[] want = new byte[PAYLOAD];
        again.copyData(THL, want, 0, PAYLOAD);
        again.free();
        assertThat(joined).isEqualTo(want);
        // The next datagram does not reuse an ID the segments took.
        Packet udp = udp(PLAIN_PEER, false);
        assertThat(output(udp, PLAIN_PEER, Ipv4.PROTO_UDP)).isZero();
        assertThat(Ipv4.id(MemorySegment.ofArray(plain.get(n)), 0)).isEqualTo((firstId + n) & 0xffff);
    }

    @Test void aDeviceThatSegmentsGetsTheSuperSegmentWhole() {
        assertThat(output(superSegment(TSO_PEER), TSO_PEER, Ipv4.PROTO_TCP)).isZero();
        assertThat(segmenting).hasSize(1);
        MemorySegment s = MemorySegment.ofArray(segmenting.get(0));
        assertThat(Ipv4.totalLength(s, 0)).isEqualTo(20 + THL + PAYLOAD);
        assertThat(Ipv4.dontFragment(s, 0)).isTrue();
        assertThat(Tcp.checksum(s, 20)).as("still the pseudo-header sum: the device finishes it")
                .isEqualTo(Checksum.fold(Checksum.pseudoHeader(SRC, TSO_PEER, Ipv4.PROTO_TCP, THL + PAYLOAD)));
        assertThat(plain).isEmpty();
    }

    private Packet udp(int dst, boolean partial) {
        Packet m = kernel.buffers().alloc(100);
        m.setLength(100);
        MemorySegment s = m.segment();
        long o = m.offset();
        Udp.write(s, o, 53, 5353, 100);
        for (int i = 8; i < 100; i++) s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + i, (byte) i);
        if (partial) {
            s.set(org.kextnet.kernel.wire.Bytes.U16, o + Udp.CHECKSUM, (short) Checksum.fold(Checksum.pseudoHeader(SRC, dst, Ipv4.PROTO_UDP, 100)));
            m.setCsumFlags(Packet.CSUM_PARTIAL | Packet.CSUM_DATA_VALID);
        } else {
            Udp.fillChecksum(s, o, 100, SRC, dst);
        }
        return m;
    }

    @Test void aPartialChecksumIsFinishedBeforeADeviceThatDoesNotFinishIt() {
        assertThat(output(udp(PLAIN_PEER, true), PLAIN_PEER, Ipv4.PROTO_UDP)).isZero();
        assertThat(plain).hasSize(1);
        MemorySegment s = MemorySegment.ofArray(plain.get(0));
        assertThat(Udp.checksum(s, 20)).isNotZero();
        assertThat(Udp.computeChecksum(s, 20, 100, SRC, PLAIN_PEER)).as("a complete UDP checksum").isZero();
    }
}
