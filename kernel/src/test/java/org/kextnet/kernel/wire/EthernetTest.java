package org.kextnet.kernel.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EthernetTest {
    @Test void formatsAndParsesMacs() {
        assertThat(Ethernet.format(0x02_00_0a_ff_00_01L)).isEqualTo("02:00:0a:ff:00:01");
        assertThat(Ethernet.parse("02:00:0A:ff:0:1")).isEqualTo(0x02_00_0a_ff_00_01L);
        assertThat(Ethernet.parse(Ethernet.format(Ethernet.BROADCAST))).isEqualTo(Ethernet.BROADCAST);
    }

    @ParameterizedTest @ValueSource(strings = {"", "02:00:00:00:00", "02:00:00:00:00:01:02", "02:00:00:00:00:", "02:00:00:00:00:100",
            "02:00:00:00:00:+1", "02:00:00:00:00:-0", "02:00:00:00:00:zz", "02-00-00-00-00-01"})
    void refusesMalformedMacs(String text) {
        assertThatThrownBy(() -> Ethernet.parse(text)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad MAC address");
    }

    @Test void writesAndReadsTheHeaderInPlace() {
        byte[] b = new byte[20];
        java.util.Arrays.fill(b, (byte) 0x5a);
        java.lang.foreign.MemorySegment s = java.lang.foreign.MemorySegment.ofArray(b);
        Ethernet.write(s, 2, 0xffff_ffff_ffffL, 0x02_11_22_33_44_55L, Ethernet.TYPE_ARP);

        assertThat(b).containsExactly(0x5a, 0x5a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55,
                0x08, 0x06, 0x5a, 0x5a, 0x5a, 0x5a);
        assertThat(Ethernet.dst(s, 2)).isEqualTo(Ethernet.BROADCAST);
        assertThat(Ethernet.src(s, 2)).isEqualTo(0x02_11_22_33_44_55L);
        assertThat(Ethernet.type(s, 2)).isEqualTo(Ethernet.TYPE_ARP);
    }

    @Test void theGroupBitMakesAMulticast() {
        assertThat(Ethernet.isMulticast(0x01_00_5e_00_00_01L)).isTrue();
        assertThat(Ethernet.isMulticast(Ethernet.BROADCAST)).isTrue();
        assertThat(Ethernet.isMulticast(0x02_00_00_00_00_01L)).isFalse();
    }
}
