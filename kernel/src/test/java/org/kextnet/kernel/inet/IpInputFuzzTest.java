package org.kextnet.kernel.inet;

import org.kextnet.kernel.testing.FuzzFrames;
import org.kextnet.kernel.testing.FuzzRecords;
import org.kextnet.kernel.testing.FuzzStack;
import org.kextnet.kernel.testing.Pkt;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Arbitrary IPv4 packets, several per input so that fragments can meet: IPv4 input (header and option
 * checks), reassembly, local delivery, forwarding and fragmentation on output, ICMP errors. Input: records of
 * [flags][length][IP packet]; flags bit 0 = link 1, bit 1 = fill the header checksum, bit 2 = set the total
 * length, bit 3 = link-layer broadcast.
 */
class IpInputFuzzTest {
    @FuzzTest(maxDuration = "2m")
    void ipv4Packets(byte[] input) {
        FuzzStack stack = FuzzStack.get();
        for (FuzzRecords.Record r : FuzzRecords.parse(input, 1)) {
            int flags = r.option(0);
            byte[] ip = r.packet();
            if ((flags & 4) != 0) FuzzFrames.fixTotalLength(ip);
            if ((flags & 2) != 0) FuzzFrames.fixHeaderChecksum(ip);
            int link = flags & 1;
            stack.receive(link, FuzzFrames.ethernet(link, (flags & 8) != 0, Pkt.ETH_IPV4, ip));
        }
        stack.settle();
    }
}
