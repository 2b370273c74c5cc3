package org.kextnet.kernel.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.testing.TestNet;

class IfCountersTest {
    private final TestNet net = TestNet.oneLink();
    private final TestNet other = TestNet.oneLink();

    @AfterEach void close() {
        net.close();
        other.close();
    }

    @Test void sumsPerThreadCellsAndAtomicAdds() throws Exception {
        IfCounters c = net.em0().counters();
        long before = c.get(IfCounters.OPACKETS), bytesBefore = c.get(IfCounters.OBYTES);
        c.output(net.ctx, 3, 300);                              // the test thread's own cells
        Thread t = Thread.ofPlatform().start(() -> {
            c.output(net.kernel.contexts().open(), 2, 200);          // another packet thread's cells
            c.output(1, 100);                                   // atomic, any thread
        });
        t.join();

        assertThat(c.get(IfCounters.OPACKETS) - before).isEqualTo(6);
        assertThat(c.get(IfCounters.OBYTES) - bytesBefore).isEqualTo(600);
    }

    @Test void aContextOfAnotherKernelStillCounts() {
        IfCounters c = net.em0().counters();
        long before = c.get(IfCounters.ODROPS);
        c.add(other.ctx, IfCounters.ODROPS, 5); // not this kernel's cells: falls back to the atomic add

        assertThat(c.get(IfCounters.ODROPS) - before).isEqualTo(5);
        assertThat(other.em0().counters().get(IfCounters.ODROPS)).isZero();
    }

    @Test void interfacesDoNotShareCells() {
        Interface lo0 = net.kernel.loopback();
        long before = lo0.counters().get(IfCounters.IPACKETS);
        net.em0().counters().input(net.ctx, 7, 700);

        assertThat(lo0.counters().get(IfCounters.IPACKETS)).isEqualTo(before);
        assertThat(net.em0().counters().get(IfCounters.IPACKETS)).isEqualTo(7);
    }
}
