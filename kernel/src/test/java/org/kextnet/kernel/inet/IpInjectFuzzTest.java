package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.testing.FuzzFrames;
import org.kextnet.kernel.testing.FuzzRecords;
import org.kextnet.kernel.testing.FuzzStack;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;

/**
 * Arbitrary IPv4 packets injected by an IP filter ({@code ipf_inject_input}, {@code ipf_inject_output}): the
 * header an extension hands the kernel is not one IPv4 input checked, and output fragments it when it is larger
 * than the MTU (em1's is 576), walking its options. Input: records of [flags][length][IP packet]; flags bit 0 =
 * inject as output (else input), bit 1 = fill the header checksum, bit 2 = set the total length, bit 3 = received
 * on em1 (else em0). The oracle is the fuzz stack's: nothing thrown, no buffer held after the input.
 */
class IpInjectFuzzTest {
    private static ExtensionHandle injector;

    private static synchronized ExtensionHandle injector(FuzzStack stack) {
        if (injector == null) injector = stack.net.kernel.nke().open("fuzz-injector");
        return injector;
    }

    @FuzzTest(maxDuration = "2m")
    void injectedPackets(byte[] input) {
        FuzzStack stack = FuzzStack.get();
        ExtensionHandle ext = injector(stack);
        for (FuzzRecords.Record r : FuzzRecords.parse(input, 1)) {
            int flags = r.option(0);
            byte[] ip = r.packet();
            if ((flags & 4) != 0) FuzzFrames.fixTotalLength(ip);
            if ((flags & 2) != 0) FuzzFrames.fixHeaderChecksum(ip);
            Packet m = stack.net.mbuf(ip.length == 0 ? new byte[1] : ip);
            m.setRcvif((flags & 8) != 0 ? stack.net.em1() : stack.net.em0());
            if ((flags & 1) != 0) {
                ext.ipFilters().injectOutput(m, null, null); // always takes the packet
            } else if (ext.ipFilters().injectInput(m, null) != 0) {
                m.free(); // refused: still ours
            }
        }
        stack.settle();
    }

    /**
     * A packet larger than em1's MTU whose option list has an option of length 0 (or one longer than the header):
     * fragmenting it used to loop forever (or throw). Output refuses such a header now, as input does.
     */
    @Test void anInjectedPacketWithAMalformedOptionIsRefusedNotFragmentedForever() {
        FuzzStack stack = FuzzStack.get();
        ExtensionHandle ext = injector(stack);
        for (int olen : new int[] {0, 1, 200}) {
            byte[] ip = bigPacketWithOption(olen);
            Packet m = stack.net.mbuf(ip);
            assertThat(ext.ipFilters().injectOutput(m, null, null)).as("option length %d", olen).isEqualTo(Errno.EINVAL);
            stack.settle();
        }
        byte[] ok = bigPacketWithOption(4); // a well-formed copied option: fragmented, each fragment carrying it
        assertThat(ext.ipFilters().injectOutput(stack.net.mbuf(ok), null, null)).isZero();
        assertThat(stack.net.peer1().recvAll()).hasSizeGreaterThan(1);
        stack.settle();
    }

    /** 1000 bytes from 10.0.0.2 to 10.1.0.2 (out of em1, MTU 576), a 24-byte header holding one option of {@code olen}. */
    static byte[] bigPacketWithOption(int olen) {
        byte[] ip = new byte[1000];
        ip[0] = 0x46; // version 4, 6 words
        ip[2] = (byte) (ip.length >>> 8);
        ip[3] = (byte) ip.length;
        ip[8] = 64;
        ip[9] = 17;
        int src = Ipv4.parse("10.0.0.2"), dst = Ipv4.parse("10.1.0.2");
        for (int i = 0; i < 4; i++) {
            ip[12 + i] = (byte) (src >>> (24 - 8 * i));
            ip[16 + i] = (byte) (dst >>> (24 - 8 * i));
        }
        ip[20] = (byte) 0x94; // copied, class 0, number 20 (router alert)
        ip[21] = (byte) olen;
        FuzzFrames.fixHeaderChecksum(ip);
        return ip;
    }
}
