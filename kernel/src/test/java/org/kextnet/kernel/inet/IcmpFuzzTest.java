package org.kextnet.kernel.inet;

import org.kextnet.kernel.testing.FuzzFrames;
import org.kextnet.kernel.testing.FuzzRecords;
import org.kextnet.kernel.testing.FuzzStack;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Arbitrary ICMP messages in well-formed IPv4 packets: ICMP input, echo replies, and the error rules when a
 * message is forwarded into an expiring TTL. Input: records of [flags][ttl][length][ICMP message]; flags bits
 * 0-1 = destination (us, a host behind em1, the subnet broadcast, all-ones), bit 2 = fill the checksum.
 */
class IcmpFuzzTest {
    private static final int[] DESTINATIONS = {TestNet.OUR_IP, TestNet.PEER_IP1, 0x0a0000ff, -1};

    @FuzzTest(maxDuration = "2m")
    void icmpMessages(byte[] input) {
        FuzzStack stack = FuzzStack.get();
        for (FuzzRecords.Record r : FuzzRecords.parse(input, 2)) {
            int flags = r.option(0);
            byte[] icmp = r.packet();
            if ((flags & 4) != 0) FuzzFrames.fixIcmpChecksum(icmp);
            int dst = DESTINATIONS[flags & 3];
            stack.receive(0, Pkt.raw(Pkt.ICMP, icmp).withDst(dst).withTtl(r.option(1))
                    .withEthDst(dst == TestNet.OUR_IP || dst == TestNet.PEER_IP1 ? TestNet.OUR_MAC : 0xffff_ffff_ffffL).bytes());
        }
        stack.settle();
    }
}
