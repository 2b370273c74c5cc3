package org.kextnet.kernel.link;

import org.kextnet.kernel.testing.FuzzRecords;
import org.kextnet.kernel.testing.FuzzStack;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Arbitrary frames into the Ethernet input of a kernel: the link layer, ARP and everything above it. Input:
 * records of [link][length][frame]. Must never throw out of input, leak a buffer or free one twice.
 */
class EthernetInputFuzzTest {
    @FuzzTest(maxDuration = "2m")
    void ethernetFrames(byte[] input) {
        FuzzStack stack = FuzzStack.get();
        for (FuzzRecords.Record r : FuzzRecords.parse(input, 1)) stack.receive(r.option(0), r.packet());
        stack.settle();
    }
}
