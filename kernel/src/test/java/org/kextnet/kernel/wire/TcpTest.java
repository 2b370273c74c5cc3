package org.kextnet.kernel.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

class TcpTest {
    private final MemorySegment s = MemorySegment.ofArray(new byte[200]);

    @Test void theFixedHeaderRoundTrips() {
        Tcp.write(s, 10, 5000, 80, 0xdeadbeef, 0x01020304, 32, Tcp.SYN | Tcp.ACK | Tcp.ECE, 65535, 77);
        assertThat(Tcp.srcPort(s, 10)).isEqualTo(5000);
        assertThat(Tcp.dstPort(s, 10)).isEqualTo(80);
        assertThat(Tcp.seq(s, 10)).isEqualTo(0xdeadbeef);
        assertThat(Tcp.ack(s, 10)).isEqualTo(0x01020304);
        assertThat(Tcp.headerLength(s, 10)).isEqualTo(32);
        assertThat(Tcp.flags(s, 10)).isEqualTo(Tcp.SYN | Tcp.ACK | Tcp.ECE);
        assertThat(Tcp.window(s, 10)).isEqualTo(65535);
        assertThat(Tcp.checksum(s, 10)).isZero();
        assertThat(Tcp.urgentPointer(s, 10)).isEqualTo(77);
        assertThat(s.get(ValueLayout.JAVA_BYTE, 10 + 12)).isEqualTo((byte) 0x80); // data offset 8 words, reserved 0
        assertThat(Tcp.formatFlags(Tcp.SYN | Tcp.ACK)).isEqualTo("S.");
    }

    @Test void checkRefusesShortSegmentsAndImpossibleOffsets() {
        Tcp.write(s, 0, 1, 2, 0, 0, 20, 0, 0, 0);
        assertThat(Tcp.check(s, 0, 19)).isEqualTo(1);
        assertThat(Tcp.check(s, 0, 20)).isZero();
        s.set(ValueLayout.JAVA_BYTE, 12, (byte) 0x40); // 16 bytes: below the minimum
        assertThat(Tcp.check(s, 0, 100)).isEqualTo(2);
        s.set(ValueLayout.JAVA_BYTE, 12, (byte) 0xf0); // 60 bytes in a 40-byte segment
        assertThat(Tcp.check(s, 0, 40)).isEqualTo(2);
    }

    @Test void theChecksumOfAFilledSegmentVerifies() {
        Tcp.write(s, 0, 1234, 80, 42, 43, 20, Tcp.ACK, 100, 0);
        for (int i = 20; i < 57; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7));
        long ph = Checksum.pseudoHeader(Ipv4.parse("10.0.0.1"), Ipv4.parse("10.0.0.2"), Ipv4.PROTO_TCP, 57);
        Tcp.fillChecksum(s, 0, 57, ph);
        assertThat(Tcp.computeChecksum(s, 0, 57, ph)).isZero();
        s.set(ValueLayout.JAVA_BYTE, 30, (byte) 1);
        assertThat(Tcp.computeChecksum(s, 0, 57, ph)).isNotZero();
    }

    @Test void everyOptionIsWrittenAndParsedBack() {
        long p = 20;
        p += Tcp.writeMss(s, p, 1460);
        p += Tcp.writeWindowScale(s, p, 7);
        p += Tcp.writeSackPermitted(s, p);
        p += Tcp.writeTimestamps(s, p, 0x11223344, 0x55667788);
        Tcp.write(s, 0, 1, 2, 0, 0, (int) p, Tcp.SYN, 0, 0);
        Tcp.Options o = new Tcp.Options();
        assertThat(o.parse(s, 0)).isTrue();
        assertThat(o.mss).isEqualTo(1460);
        assertThat(o.windowScale).isEqualTo(7);
        assertThat(o.sackPermitted).isTrue();
        assertThat(o.hasTimestamps).isTrue();
        assertThat(o.tsVal).isEqualTo(0x11223344);
        assertThat(o.tsEcr).isEqualTo(0x55667788);
        int[] edges = {1, 2, 3, 4, 5, 6};
        int len = Tcp.writeSack(s, 20, edges, 3);
        Tcp.write(s, 0, 1, 2, 0, 0, 20 + len, Tcp.ACK, 0, 0);
        assertThat(o.parse(s, 0)).isTrue();
        assertThat(o.sackBlocks).isEqualTo(3);
        assertThat(o.sack).startsWith(1, 2, 3, 4, 5, 6);
        assertThat(o.mss).isEqualTo(-1);
    }

    /** The bytes of {@link Tcp#writeSynOptions} for the options given. */
    private byte[] synOptions(int wscale, boolean sack, boolean ts) {
        int n = Tcp.writeSynOptions(s, 0, 1460, wscale, sack, ts, 0x01020304, 0x05060708);
        assertThat(n).isEqualTo(Tcp.synOptionsLength(wscale >= 0, sack, ts));
        return s.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test void synOptionsTakeTwentyBytesAtMostWithEveryFieldAligned() {
        byte[] mss = {2, 4, 0x05, (byte) 0xb4};
        byte[] ts = {8, 10, 1, 2, 3, 4, 5, 6, 7, 8};
        assertThat(synOptions(7, true, true)).containsExactly(concat(mss, new byte[] {4, 2}, ts, new byte[] {1, 3, 3, 7}));
        assertThat(synOptions(7, false, true)).containsExactly(concat(mss, new byte[] {1, 1}, ts, new byte[] {1, 3, 3, 7}));
        assertThat(synOptions(7, true, false)).containsExactly(concat(mss, new byte[] {1, 1, 4, 2}, new byte[] {1, 3, 3, 7}));
        assertThat(synOptions(-1, true, true)).containsExactly(concat(mss, new byte[] {4, 2}, ts));
        assertThat(synOptions(-1, false, false)).containsExactly(mss);
        Tcp.writeSynOptions(s, 20, 1460, 14, true, true, 9, 0);
        Tcp.write(s, 0, 1, 2, 0, 0, 40, Tcp.SYN, 0, 0);
        Tcp.Options o = new Tcp.Options();
        assertThat(o.parse(s, 0)).isTrue();
        assertThat(o.mss).isEqualTo(1460);
        assertThat(o.windowScale).isEqualTo(14);
        assertThat(o.sackPermitted).isTrue();
        assertThat(o.tsVal).isEqualTo(9);
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }

    private boolean parse(int... bytes) {
        int hl = 20 + ((bytes.length + 3) & ~3);
        for (int i = 20; i < hl; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) (i - 20 < bytes.length ? bytes[i - 20] : 0));
        Tcp.write(s, 0, 1, 2, 0, 0, hl, Tcp.ACK, 0, 0);
        return new Tcp.Options().parse(s, 0);
    }

    @Test void malformedOptionListsAreRefusedAndUnknownOptionsSkipped() {
        assertThat(parse(2, 0)).as("length 0 (RFC 9293 MUST-7)").isFalse();
        assertThat(parse(99, 1)).as("length 1").isFalse();
        assertThat(parse(1, 1, 99, 9)).as("past the header").isFalse();
        assertThat(parse(2, 3, 5)).as("an MSS of the wrong length").isFalse();
        assertThat(parse(5, 7, 0, 0, 0, 0, 0)).as("a SACK that is not whole blocks").isFalse();
        assertThat(parse(1)).as("a lone NOP").isTrue();
        assertThat(parse(99, 4, 0, 0, 2, 4, 5, 0xb4)).as("an unknown option is skipped by its length").isTrue();
        assertThat(parse(0, 2, 0)).as("nothing after EOL is read").isTrue();
        Tcp.Options o = new Tcp.Options();
        parse(1, 3, 3, 30);
        o.parse(s, 0);
        assertThat(o.windowScale).as("a shift above 14 is 14 (RFC 7323 2.3)").isEqualTo(14);
    }
}
