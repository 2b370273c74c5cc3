package org.kextnet.kernel.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.ManualClock;

/**
 * {@link Interface#transmit(PacketContext, Mbuf[], int, int)} on a memory wire: one ring claim for a run of
 * frames; what does not fit is dropped and counted exactly as frames sent one by one would be.
 */
class BatchTransmitTest {
    private final Buffers buffers = new Buffers(256, 2);
    private final Kernel kernel = new Kernel("test", buffers, new ManualClock());
    private final PacketContext ctx = kernel.newContext();
    private final MemoryWire wire = new MemoryWire("w", MemoryWire.Options.perfect().withPollMode(true).withRingSize(8));
    private final Interface ifp = kernel.createInterface("em0", IfFamily.ETHERNET, wire.a(), 0x02_00_00_00_00_01L, 1500);

    @AfterEach void close() {
        for (Mbuf m; (m = wire.b().take()) != null; ) m.free();
        ctx.close();
        assertThat(buffers.small().inUse()).isZero();
        kernel.close();
    }

    private Mbuf[] frames(int n) {
        Mbuf[] a = new Mbuf[n];
        for (int i = 0; i < n; i++) {
            a[i] = ctx.alloc();
            a[i].setLength(60 + i);
            a[i].segment().set(Mbuf.U32, a[i].offset(), i);
        }
        return a;
    }

    private List<Integer> received() {
        List<Integer> l = new ArrayList<>();
        for (Mbuf m; (m = wire.b().take()) != null; ) {
            l.add(m.segment().get(Mbuf.U32, m.offset()));
            m.free();
        }
        return l;
    }

    @Test void aRunGoesOnTheWireInOrderAndIsCountedOnce() {
        long packets0 = ifp.counters().get(IfCounters.OPACKETS), bytes0 = ifp.counters().get(IfCounters.OBYTES);
        Mbuf[] a = frames(6);

        ifp.transmit(ctx, a, 1, 5);

        assertThat(received()).containsExactly(1, 2, 3, 4);
        assertThat(a).containsExactly(a[0], null, null, null, null, a[5]); // only the run was taken
        assertThat(ifp.counters().get(IfCounters.OPACKETS) - packets0).isEqualTo(4);
        assertThat(ifp.counters().get(IfCounters.OBYTES) - bytes0).isEqualTo(61 + 62 + 63 + 64);
        ctx.free(a[0]);
        ctx.free(a[5]);
    }

    @Test void aRunIsTakenWholeWhenTheRingHasRoomAfterTheConsumerMovedOn() {
        // The ring's producers cache how far the consumer was; a run longer than that stale view must still be
        // taken whole when the consumer has made room since.
        for (int round = 0; round < 5; round++) {
            Mbuf[] a = frames(6);
            ifp.transmit(ctx, a, 0, 6);
            assertThat(received()).containsExactly(0, 1, 2, 3, 4, 5);
        }
        assertThat(kernel.stats().get(Stat.LINK_TX_FULL)).isZero();
    }

    @Test void onALossyWireWhatTheRingHasNoRoomForIsDroppedAndCountedToo() {
        // A loss rate above 0 takes the wire's frame-by-frame path; this one loses (practically) nothing.
        MemoryWire lossy = new MemoryWire("lossy", MemoryWire.Options.perfect().withPollMode(true).withRingSize(8).withLoss(1e-300));
        Interface em1 = kernel.createInterface("em1", IfFamily.ETHERNET, lossy.a(), 0x02_00_00_00_01_01L, 1500);
        Mbuf[] a = frames(20);

        em1.transmit(ctx, a, 0, 20);

        int received = 0;
        for (Mbuf m; (m = lossy.b().take()) != null; received++) m.free();
        assertThat(received).isEqualTo(8);
        assertThat(a).containsOnlyNulls();
        assertThat(em1.counters().get(IfCounters.OPACKETS)).isEqualTo(8);
        assertThat(em1.counters().get(IfCounters.ODROPS)).isEqualTo(12);
    }

    @Test void whatTheRingHasNoRoomForIsDroppedAndCounted() {
        long packets0 = ifp.counters().get(IfCounters.OPACKETS), drops0 = ifp.counters().get(IfCounters.ODROPS);
        long full0 = kernel.stats().get(Stat.LINK_TX_FULL);
        Mbuf[] a = frames(20);

        ifp.transmit(ctx, a, 0, 20);

        assertThat(received()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(a).containsOnlyNulls();
        assertThat(ifp.counters().get(IfCounters.OPACKETS) - packets0).isEqualTo(8);
        assertThat(ifp.counters().get(IfCounters.ODROPS) - drops0).isEqualTo(12);
        assertThat(kernel.stats().get(Stat.LINK_TX_FULL) - full0).isEqualTo(12);
    }
}
