package org.kextnet.kernel.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import org.junit.jupiter.api.Test;

class VirtioNetTest {
    private final MemorySegment s = MemorySegment.ofArray(new byte[200]);
    private static final int H = 4; // where the header starts: the packet follows at H + 10

    /** An IPv4 version nibble at the packet's first byte. */
    private void ipv4() { s.set(ValueLayout.JAVA_BYTE, H + VirtioNet.HEADER_LENGTH, (byte) 0x45); }

    @Test void aHeaderRoundTripsInTheHostsByteOrder() {
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_TCPV4, 52, 1448, 20, 16);
        assertThat(VirtioNet.flags(s, H)).isEqualTo(VirtioNet.F_NEEDS_CSUM);
        assertThat(VirtioNet.gsoType(s, H)).isEqualTo(VirtioNet.GSO_TCPV4);
        assertThat(VirtioNet.hdrLen(s, H)).isEqualTo(52);
        assertThat(VirtioNet.gsoSize(s, H)).isEqualTo(1448);
        assertThat(VirtioNet.csumStart(s, H)).isEqualTo(20);
        assertThat(VirtioNet.csumOffset(s, H)).isEqualTo(16);
        // struct virtio_net_hdr's 16-bit fields in the legacy (host) order: gso_size at byte 4
        ValueLayout.OfShort host = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
        assertThat(s.get(host, H + 4)).isEqualTo((short) 1448);
        assertThat(s.get(ValueLayout.JAVA_BYTE, H + 1)).isEqualTo((byte) 1);
    }

    @Test void writeNoneZeroesTheTenBytesOnly() {
        s.fill((byte) 0x5a);
        VirtioNet.writeNone(s, H);
        for (int i = 0; i < VirtioNet.HEADER_LENGTH; i++) assertThat(s.get(ValueLayout.JAVA_BYTE, H + i)).isZero();
        assertThat(s.get(ValueLayout.JAVA_BYTE, H - 1)).isEqualTo((byte) 0x5a);
        assertThat(s.get(ValueLayout.JAVA_BYTE, H + VirtioNet.HEADER_LENGTH)).isEqualTo((byte) 0x5a);
    }

    @Test void wellFormedHeadersPass() {
        ipv4();
        VirtioNet.writeNone(s, H);
        assertThat(VirtioNet.check(s, H, 60)).isNull();
        VirtioNet.write(s, H, VirtioNet.F_DATA_VALID, VirtioNet.GSO_NONE, 0, 0, 0, 0);
        assertThat(VirtioNet.check(s, H, 60)).isNull();
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_NONE, 40, 0, 20, 16);
        assertThat(VirtioNet.check(s, H, 40)).as("the checksum's last byte is the packet's last").isNull();
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_TCPV4, 52, 1448, 20, 16);
        assertThat(VirtioNet.check(s, H, 150)).isNull();
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_TCPV4 | VirtioNet.GSO_ECN, 52, 1448, 20, 16);
        assertThat(VirtioNet.check(s, H, 150)).as("ECN on a TCP GSO packet").isNull();
    }

    @Test void malformedHeadersAreNamed() {
        ipv4();
        assertThat(VirtioNet.check(s, H, -1)).isEqualTo(VirtioNet.Fault.TOO_SHORT);
        VirtioNet.write(s, H, VirtioNet.F_RSC_INFO, VirtioNet.GSO_NONE, 0, 0, 0, 0);
        assertThat(VirtioNet.check(s, H, 60)).isEqualTo(VirtioNet.Fault.UNKNOWN_FLAGS);
        VirtioNet.write(s, H, 0x80, VirtioNet.GSO_NONE, 0, 0, 0, 0);
        assertThat(VirtioNet.check(s, H, 60)).isEqualTo(VirtioNet.Fault.UNKNOWN_FLAGS);
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_NONE, 0, 0, 20, 16);
        assertThat(VirtioNet.check(s, H, 37)).isEqualTo(VirtioNet.Fault.BAD_CSUM_RANGE);
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_NONE, 0, 0, 0xffff, 0xffff);
        assertThat(VirtioNet.check(s, H, 60)).as("no overflow past 16 bits").isEqualTo(VirtioNet.Fault.BAD_CSUM_RANGE);
        VirtioNet.write(s, H, 0, VirtioNet.GSO_NONE, 61, 0, 0, 0);
        assertThat(VirtioNet.check(s, H, 60)).isEqualTo(VirtioNet.Fault.BAD_HDR_LEN);
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_UDP, 28, 1472, 20, 6);
        assertThat(VirtioNet.check(s, H, 150)).as("UDP fragmentation offload was never offered").isEqualTo(VirtioNet.Fault.UNKNOWN_GSO_TYPE);
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_UDP_L4, 28, 1472, 20, 6);
        assertThat(VirtioNet.check(s, H, 150)).isEqualTo(VirtioNet.Fault.UNKNOWN_GSO_TYPE);
        VirtioNet.write(s, H, 0, VirtioNet.GSO_ECN, 0, 0, 0, 0);
        assertThat(VirtioNet.check(s, H, 60)).as("ECN without a segmentation type").isEqualTo(VirtioNet.Fault.UNKNOWN_GSO_TYPE);
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_TCPV4, 52, 0, 20, 16);
        assertThat(VirtioNet.check(s, H, 150)).as("no segment size").isEqualTo(VirtioNet.Fault.BAD_GSO);
        VirtioNet.write(s, H, 0, VirtioNet.GSO_TCPV4, 52, 1448, 0, 0);
        assertThat(VirtioNet.check(s, H, 150)).as("GSO without NEEDS_CSUM").isEqualTo(VirtioNet.Fault.BAD_GSO);
        VirtioNet.write(s, H, VirtioNet.F_NEEDS_CSUM, VirtioNet.GSO_TCPV6, 72, 1428, 40, 16);
        assertThat(VirtioNet.check(s, H, 150)).as("TCPV6 over an IPv4 packet").isEqualTo(VirtioNet.Fault.BAD_GSO);
    }
}
