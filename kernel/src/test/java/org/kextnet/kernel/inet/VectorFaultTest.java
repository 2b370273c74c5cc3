package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Udp;

/**
 * A bug that escapes the vector path in the middle of a batch (here a driver that throws): the batch's last
 * guard reports it, frees the packets still gathered in the thread's vectors, and the next batch is forwarded
 * whole. Nothing leaks, and nothing is sent twice.
 */
class VectorFaultTest {
    private static final long MAC0 = 0x02_00_00_00_00_01L, PEER0 = 0x02_00_00_00_00_02L;
    private static final int SRC = Ipv4.parse("10.0.0.2"), DST = Ipv4.parse("10.9.0.2");

    private final Buffers buffers = new Buffers(256, 2);
    private final Kernel kernel = new Kernel("test", buffers, new ManualClock());
    private final PacketContext ctx = kernel.contexts().acquire(); // leased: no buffer cache, so the pool's count is exact
    private final MemoryWire wire = new MemoryWire("w0", MemoryWire.Options.perfect().withPollMode(true));
    private final Interface em0 = kernel.createInterface("em0", IfFamily.ETHERNET, wire.a(), MAC0, 1500);
    private final BuggyDriver driver = new BuggyDriver();
    private final Interface bad0 = kernel.createInterface("bad0", IfFamily.ETHERNET, driver, 0x02_00_00_00_09_01L, 1500);

    /** Takes frames and notes their IP ids; the {@code failAt}th frame (from 1; 0: none) it frees, then throws. */
    static final class BuggyDriver implements Driver {
        final List<Integer> sent = new ArrayList<>();
        int calls, failAt;

        @Override public boolean transmit(PacketContext ctx, Packet m) {
            int id = m.segment().get(Bytes.U16, m.offset() + Ethernet.HEADER_LEN + Ipv4.ID) & 0xffff;
            m.free();
            if (++calls == failAt) throw new IllegalStateException("driver bug");
            sent.add(id);
            return true;
        }
    }

    VectorFaultTest() {
        kernel.addAddress(em0, InterfaceAddress.parse("10.0.0.1/24"));
        kernel.addAddress(bad0, InterfaceAddress.parse("10.9.0.1/24"));
        em0.up();
        bad0.up();
        kernel.arp(bad0).addStatic(DST, 0x02_00_00_00_09_02L);
        kernel.setForwarding(true);
        for (Packet m; (m = wire.b().take()) != null; ) m.free(); // the gratuitous ARP of bringing em0 up
        driver.sent.clear(); // and the gratuitous ARP of bad0
        driver.calls = 0;
    }

    @AfterEach void close() {
        kernel.contexts().release(ctx);
        assertThat(buffers.small().inUse()).isZero();
        kernel.close();
    }

    private Packet[] batch(int firstId, int n) {
        Packet[] batch = new Packet[n];
        for (int i = 0; i < n; i++) {
            Packet m = ctx.alloc();
            int len = Ethernet.HEADER_LEN + Ipv4.MIN_HEADER + Udp.HEADER_LEN + 18;
            m.setLength(len);
            var s = m.segment();
            long o = m.offset();
            Ethernet.write(s, o, MAC0, PEER0, Ethernet.TYPE_IPV4);
            Ipv4.write(s, o + Ethernet.HEADER_LEN, 0, len - Ethernet.HEADER_LEN, firstId + i, 0, 64, Ipv4.PROTO_UDP, SRC, DST);
            Udp.write(s, o + Ethernet.HEADER_LEN + Ipv4.MIN_HEADER, 5000, 9, Udp.HEADER_LEN + 18);
            batch[i] = m;
        }
        return batch;
    }

    @Test void aBugInTheMiddleOfAVectorLosesOnlyWhatItHeldAndTheNextBatchGoesThroughWhole() {
        driver.failAt = 4;

        em0.input(ctx, batch(0, 10), 10);

        assertThat(driver.sent).containsExactly(0, 1, 2); // 3 was in the driver's hands when it threw
        assertThat(em0.counters().get(IfCounters.IERRORS)).isEqualTo(1);
        assertThat(buffers.small().inUse()).isZero(); // 4..9 were freed, not leaked

        em0.input(ctx, batch(100, 10), 10);

        assertThat(driver.sent).containsExactly(0, 1, 2, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109);
        assertThat(em0.counters().get(IfCounters.IERRORS)).isEqualTo(1);
    }
}
