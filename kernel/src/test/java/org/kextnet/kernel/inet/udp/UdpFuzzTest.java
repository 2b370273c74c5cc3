package org.kextnet.kernel.inet.udp;

import org.kextnet.kernel.testing.FuzzFrames;
import org.kextnet.kernel.testing.FuzzRecords;
import org.kextnet.kernel.testing.FuzzStack;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Arbitrary UDP datagrams in well-formed IPv4 packets: UDP input checks, the port table, a queueing socket
 * (port 9), the echo service (port 7) and port unreachable. Input: records of [flags][length][datagram]; flags
 * bit 0 = to the subnet broadcast instead of us, bits 1-2 = destination port as it is / 7 / 9 / 9 from a
 * fixed source, bit 3 = set the length and fill the checksum.
 */
class UdpFuzzTest {
    @FuzzTest(maxDuration = "2m")
    void udpDatagrams(byte[] input) {
        FuzzStack stack = FuzzStack.get();
        for (FuzzRecords.Record r : FuzzRecords.parse(input, 1)) {
            int flags = r.option(0);
            byte[] udp = r.packet();
            boolean broadcast = (flags & 1) != 0;
            int dst = broadcast ? 0x0a0000ff : TestNet.OUR_IP;
            if (udp.length >= 8) {
                switch (flags >>> 1 & 3) {
                    case 1 -> { udp[2] = 0; udp[3] = 7; }
                    case 2 -> { udp[2] = 0; udp[3] = 9; }
                    case 3 -> { udp[0] = (byte) 0xc0; udp[1] = 0; udp[2] = 0; udp[3] = 9; }
                    default -> { }
                }
            }
            if ((flags & 8) != 0) FuzzFrames.fixUdp(udp, TestNet.PEER_IP, dst);
            stack.receive(0, Pkt.raw(Pkt.UDP, udp).withDst(dst).withEthDst(broadcast ? 0xffff_ffff_ffffL : TestNet.OUR_MAC).bytes());
        }
        stack.settle();
    }
}
