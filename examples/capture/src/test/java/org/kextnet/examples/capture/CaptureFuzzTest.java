package org.kextnet.examples.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.testkit.EmbeddedKernel;

/**
 * The capture sample's parsers on arbitrary input: a filter expression (the words a user types) either compiles or
 * is refused with {@link FilterExpr.Invalid}, and a compiled filter tests any packet without reading past it; the
 * line a live watcher gets is made for any frame, truncated or not, with or without an Ethernet header. Input:
 * [EtherType selector][filter text]\0[packet]; selector 0 = IPv4, 1 = ARP, else IPv6.
 */
class CaptureFuzzTest {
    private static Kpi kpi;

    private static synchronized Kpi kpi() {
        if (kpi == null) kpi = EmbeddedKernel.create().kpi("capture-fuzz");
        return kpi;
    }

    @FuzzTest(maxDuration = "2m")
    void filtersAndLines(byte[] input) {
        if (input.length == 0) return;
        int type = switch (input[0]) { case 0 -> 0x0800; case 1 -> 0x0806; default -> 0x86dd; };
        int nul = 1;
        while (nul < input.length && input[nul] != 0) nul++;
        String text = new String(input, 1, nul - 1, StandardCharsets.UTF_8);
        byte[] packet = nul < input.length ? Arrays.copyOfRange(input, nul + 1, input.length) : new byte[0];

        FilterExpr filter = null;
        try {
            filter = FilterExpr.parse(Arrays.stream(text.split("[ \t\n]+")).filter(w -> !w.isEmpty()).toList());
        } catch (FilterExpr.Invalid e) {
            assertThat(e.getMessage()).isNotBlank();
        }
        if (filter != null && packet.length > 0) {
            Mbuf m = kpi().mbufs().allocate(packet.length);
            assertThat(m).isNotNull();
            try {
                m.setLength(packet.length);
                for (int i = 0; i < packet.length; i++) m.put8(i, packet[i]);
                filter.test(m, 0, type);
            } finally {
                m.free();
            }
        }

        byte[] frame = new byte[14 + packet.length];
        frame[12] = (byte) (type >>> 8);
        frame[13] = (byte) type;
        System.arraycopy(packet, 0, frame, 14, packet.length);
        assertThat(PacketLine.format(0, "wire0", true, frame, frame.length, true)).contains(" wire0 in  ").doesNotContain("\n");
        assertThat(PacketLine.format(0, "tun0", false, packet, packet.length, false)).contains(" tun0 out ").doesNotContain("\n");
    }
}
