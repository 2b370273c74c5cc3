package org.kextnet.kernel.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.Layers.BatchDriver;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.TxClaim;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Ipv4;

/**
 * Claims on a memory wire ({@link BatchDriver}): places for a run of frames taken with one ring operation,
 * each frame where the peer can take it the moment it is placed; frames of other threads after the claim,
 * frames the claim's owner sends meanwhile in its places; and, through {@link Interface#output} of a run,
 * what the ring has no room for dropped and counted as frames sent one by one would be.
 */
class BatchTransmitTest {
    private final Buffers buffers = new Buffers(256, 2);
    private final Kernel kernel = new Kernel("test", buffers, new ManualClock());
    private final PacketContext ctx = kernel.contexts().open();
    private final MemoryWire wire = new MemoryWire("w", MemoryWire.Options.perfect().withPollMode(true).withRingSize(8));
    private final Interface ifp = kernel.createInterface("em0", IfFamily.ETHERNET, wire.a(), 0x02_00_00_00_00_01L, 1500);
    private final MemoryWire.End driver = wire.a();
    private final TxClaim claim = TxClaim.forThisThread();

    @AfterEach void close() {
        for (Packet m; (m = wire.b().take()) != null; ) m.free();
        ctx.close();
        assertThat(buffers.small().inUse()).isZero();
        kernel.close();
    }

    private Packet frame(int id) {
        Packet m = ctx.alloc();
        m.setLength(60);
        m.segment().set(Bytes.U32, m.offset(), id);
        return m;
    }

    private List<Integer> received() {
        List<Integer> l = new ArrayList<>();
        for (Packet m; (m = wire.b().take()) != null; ) {
            l.add(m.segment().get(Bytes.U32, m.offset()));
            m.free();
        }
        return l;
    }

    @Test void eachClaimedFrameCanBeTakenAsSoonAsItIsPlacedAndUnusedPlacesAreSkipped() {
        assertThat(driver.claim(claim, 4)).isEqualTo(4);
        driver.transmitClaimed(ctx, claim, frame(1));
        assertThat(received()).containsExactly(1); // the peer takes it while the claim is still open
        driver.transmitClaimed(ctx, claim, frame(2));
        assertThat(received()).containsExactly(2);
        driver.release(claim); // two places unused

        assertThat(driver.transmit(ctx, frame(3))).isTrue();
        assertThat(received()).containsExactly(3);
        assertThat(wire.b().queued()).isZero();
    }

    @Test void aFrameAnotherThreadSendsDuringAClaimQueuesAfterIt() throws Exception {
        assertThat(driver.claim(claim, 3)).isEqualTo(3);
        driver.transmitClaimed(ctx, claim, frame(1));
        Thread other = Thread.ofPlatform().start(() -> {
            PacketContext c = kernel.contexts().open();
            assertThat(driver.transmit(c, frame(9))).isTrue();
            c.close();
        });
        other.join(10_000);
        assertThat(received()).containsExactly(1); // the consumer waits at the claim's next place
        driver.transmitClaimed(ctx, claim, frame(2));
        driver.release(claim);

        assertThat(received()).containsExactly(2, 9);
    }

    @Test void aFrameTheClaimsOwnerSendsMeanwhileTakesTheClaimsNextPlace() {
        // A filter re-injecting from its callback: the frame leaves where the one-packet path would send it.
        assertThat(driver.claim(claim, 3)).isEqualTo(3);
        driver.transmitClaimed(ctx, claim, frame(1));
        assertThat(driver.transmit(ctx, frame(2))).isTrue();
        driver.transmitClaimed(ctx, claim, frame(3));
        assertThat(claim.room()).isZero();
        assertThat(driver.transmit(ctx, frame(4))).isTrue(); // the claim is used up: at the tail
        driver.release(claim);

        assertThat(received()).containsExactly(1, 2, 3, 4);
    }

    @Test void aClaimGetsWhatRoomThereIsAndNoneOnAFullRing() {
        for (int i = 0; i < 5; i++) assertThat(driver.transmit(ctx, frame(i))).isTrue();
        assertThat(driver.claim(claim, 6)).isEqualTo(3);
        for (int i = 5; i < 8; i++) driver.transmitClaimed(ctx, claim, frame(i));
        driver.release(claim);

        assertThat(driver.claim(claim, 1)).isZero();
        assertThat(claim.isOpen()).isFalse();
        assertThat(received()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
    }

    @Test void aClaimIsGrantedWholeWhenTheConsumerHasMadeRoomSince() {
        // Producers cache how far the consumer was; a claim larger than that stale view must still be granted
        // whole when the consumer has moved on.
        for (int round = 0; round < 5; round++) {
            assertThat(driver.claim(claim, 6)).isEqualTo(6);
            for (int i = 0; i < 6; i++) driver.transmitClaimed(ctx, claim, frame(i));
            driver.release(claim);
            assertThat(received()).containsExactly(0, 1, 2, 3, 4, 5);
        }
    }

    @Test void aSecondClaimWhileOneIsOpenIsABug() {
        MemoryWire other = new MemoryWire("o", MemoryWire.Options.perfect().withPollMode(true));
        driver.claim(claim, 2);
        assertThatThrownBy(() -> other.a().claim(claim, 2)).isInstanceOf(IllegalStateException.class);
        assertThat(other.b().queued()).isZero(); // nothing reserved there: its consumer is not held up
        driver.release(claim);
    }

    @Test void aRunTheRingHasNoRoomForIsDroppedAndCountedFrameByFrame() {
        kernel.addAddress(ifp, InterfaceAddress.parse("10.0.0.1/24"));
        ifp.up();
        int peer = Ipv4.parse("10.0.0.2");
        kernel.arp(ifp).addStatic(peer, 0x02_00_00_00_00_02L);
        received(); // the gratuitous ARP of bringing the link up
        long packets0 = ifp.counters().get(IfCounters.OPACKETS), drops0 = ifp.counters().get(IfCounters.ODROPS);
        long full0 = kernel.stats().get(Stat.LINK_TX_FULL);
        Packet[] run = new Packet[20];
        int[] hops = new int[20];
        for (int i = 0; i < 20; i++) {
            run[i] = frame(i);
            hops[i] = peer;
        }

        ifp.output(ctx, run, hops, 0, 20, null);

        List<Integer> ids = new ArrayList<>();
        for (Packet m; (m = wire.b().take()) != null; ) { // behind the 14-byte Ethernet header now
            ids.add(m.segment().get(Bytes.U32, m.offset() + 14));
            m.free();
        }
        assertThat(ids).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(run).containsOnlyNulls();
        assertThat(claim.isOpen()).isFalse();
        assertThat(ifp.counters().get(IfCounters.OPACKETS) - packets0).isEqualTo(8);
        assertThat(ifp.counters().get(IfCounters.OBYTES)).isPositive();
        assertThat(ifp.counters().get(IfCounters.ODROPS) - drops0).isEqualTo(12);
        assertThat(kernel.stats().get(Stat.LINK_TX_FULL) - full0).isEqualTo(12);
    }
}
