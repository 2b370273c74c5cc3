package org.kextnet.kernel.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kextnet.kernel.testing.Pkt;

class Ipv4Test {
    private static Ipv4.Fault check(Pkt p, int len) {
        byte[] b = p.withoutEthernet().ipBytes();
        return Ipv4.check(MemorySegment.ofArray(b), 0, Math.min(len, b.length), false);
    }

    @Test void aValidHeaderPasses() {
        assertThat(check(Pkt.udp(1, 2, "abc"), 1000)).isNull();
    }

    @Test void checksOnlyTheBytesItIsGiven() {
        // A header that would be fine is refused when the caller has fewer bytes than it claims.
        assertThat(check(Pkt.udp(1, 2, "abc"), 30)).isEqualTo(Ipv4.Fault.TRUNCATED);
        assertThat(check(Pkt.udp(1, 2, "abc"), 19)).isEqualTo(Ipv4.Fault.TOO_SHORT);
    }

    @Test void theChecksumMayBeTrusted() {
        byte[] b = Pkt.udp(1, 2, "abc").withIpChecksum(1).withoutEthernet().ipBytes();
        assertThat(Ipv4.check(MemorySegment.ofArray(b), 0, b.length, true)).isNull();
        assertThat(Ipv4.check(MemorySegment.ofArray(b), 0, b.length, false)).isEqualTo(Ipv4.Fault.BAD_CHECKSUM);
    }

    /** RFC 791 checks written plainly, to hold the fast path of {@link Ipv4#check} against. */
    private static Ipv4.Fault reference(byte[] b, int len) {
        if (len < 20) return Ipv4.Fault.TOO_SHORT;
        if ((b[0] & 0xff) >>> 4 != 4) return Ipv4.Fault.BAD_VERSION;
        int hl = (b[0] & 0xf) * 4;
        if (hl < 20 || hl > len) return Ipv4.Fault.BAD_HEADER_LENGTH;
        int total = (b[2] & 0xff) << 8 | (b[3] & 0xff);
        if (total < hl) return Ipv4.Fault.BAD_LENGTH;
        if (total > len) return Ipv4.Fault.TRUNCATED;
        if (Pkt.checksum(b, 0, hl, 0) != 0) return Ipv4.Fault.BAD_CHECKSUM;
        return null; // options are checked after this; these headers have none or all NOPs
    }

    @Test void agreesWithThePlainChecksOnRandomHeaders() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            byte[] b = new byte[64];
            r.nextBytes(b);
            for (int k = 20; k < 64; k++) b[k] = 1; // NOP options: only the header checks decide
            if (r.nextBoolean()) b[0] = 0x45;
            if (r.nextInt(4) == 0) b[0] = (byte) (0x40 | r.nextInt(16));
            int len = r.nextInt(70);
            if (r.nextBoolean()) { b[2] = 0; b[3] = (byte) Math.min(len, 64); }
            if (r.nextBoolean()) {
                b[10] = b[11] = 0;
                int hl = Math.max(20, Math.min(60, (b[0] & 0xf) * 4));
                int sum = Pkt.checksum(b, 0, hl, 0);
                b[10] = (byte) (sum >>> 8);
                b[11] = (byte) sum;
            }
            int n = Math.min(len, 64);
            assertThat(Ipv4.check(MemorySegment.ofArray(b), 0, n, false)).as("header %d", i).isEqualTo(reference(b, n));
        }
    }

    @Test void decrementTtlKeepsTheChecksumValid() {
        byte[] b = Pkt.udp(1, 2, "abc").withTtl(200).withoutEthernet().ipBytes();
        MemorySegment s = MemorySegment.ofArray(b);
        for (int ttl = 199; ttl >= 0; ttl--) {
            Ipv4.decrementTtl(s, 0);
            assertThat(Ipv4.ttl(s, 0)).isEqualTo(ttl);
            assertThat(Checksum.checksum(s, 0, 20)).isZero();
        }
    }

    @Test void writeFillsAValidHeader() {
        MemorySegment s = MemorySegment.ofArray(new byte[20]);
        Ipv4.write(s, 0, 0x10, 1234, 77, Ipv4.FLAG_DF, 9, Ipv4.PROTO_UDP, 0x0a000001, 0x0a000002);
        assertThat(Ipv4.check(s, 0, 20, false)).isEqualTo(Ipv4.Fault.TRUNCATED); // total length 1234 > 20 bytes
        assertThat(Checksum.checksum(s, 0, 20)).isZero();
        assertThat(Ipv4.tos(s, 0)).isEqualTo(0x10);
        assertThat(Ipv4.id(s, 0)).isEqualTo(77);
        assertThat(Ipv4.dontFragment(s, 0)).isTrue();
        assertThat(Ipv4.isFragment(s, 0)).isFalse();
    }

    @Test void parsesAndFormatsAddresses() {
        assertThat(Ipv4.parse("10.0.0.1")).isEqualTo(0x0a000001);
        assertThat(Ipv4.format(0xc0a80101)).isEqualTo("192.168.1.1");
        assertThat(Ipv4.format(-1)).isEqualTo("255.255.255.255");
        assertThat(Ipv4.mask(0)).isZero();
        assertThat(Ipv4.mask(24)).isEqualTo(0xffffff00);
        assertThat(Ipv4.mask(32)).isEqualTo(-1);
    }

    @ParameterizedTest @ValueSource(strings = {"", "1.2.3", "1.2.3.4.5", "1.2.3.256", "1..2.3", "a.b.c.d", "-1.2.3.4", "+1.2.3.4", "1.2.3.4 ", "0001.2.3.4"})
    void refusesMalformedAddresses(String text) {
        assertThatThrownBy(() -> Ipv4.parse(text)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad IPv4 address");
    }

    @Test void classifiesAddresses() {
        assertThat(Ipv4.isMartianSource(Ipv4.parse("127.0.0.1"))).isTrue();
        assertThat(Ipv4.isMartianSource(Ipv4.parse("224.0.0.1"))).isTrue();
        assertThat(Ipv4.isMartianSource(0)).isFalse(); // allowed: a host without an address yet
        assertThat(Ipv4.isMartianSource(Ipv4.parse("10.0.0.1"))).isFalse();
        assertThat(Ipv4.isMartianDestination(0)).isTrue();
        assertThat(Ipv4.isMartianDestination(Ipv4.parse("127.0.0.9"))).isTrue();
        assertThat(Ipv4.isMartianDestination(-1)).isFalse();
        assertThat(Ipv4.isMulticast(Ipv4.parse("239.1.1.1"))).isTrue();
    }
}
