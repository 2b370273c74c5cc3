package org.kextnet.kernel.link.memwire;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.wire.Bytes;

/**
 * The memory wire: the bytes cross, not the sending host's tags, flags and checksum state; impairments draw the fate of
 * the n-th frame from the seed, and no frame is leaked.
 */
class MemoryWireTest {
    private static final int FRAMES = 2000;

    private final Buffers buffers = new Buffers(4096, 2);
    private final Kernel kernel = new Kernel("wire-test", buffers, new ManualClock());
    private final PacketContext ctx = kernel.contexts().open();

    @AfterEach void close() {
        ctx.close();
        kernel.close();
    }

    /** Sends frames 0..FRAMES-1 (each carries its number) from a to b; returns the numbers b received, in order. */
    private List<Integer> run(MemoryWire.Options options) {
        MemoryWire wire = new MemoryWire("w", options.withPollMode(true).withRingSize(2 * FRAMES + 8));
        int before = buffers.small().inUse();
        for (int i = 0; i < FRAMES; i++) {
            Packet m = buffers.alloc(64);
            m.setLength(64);
            m.segment().set(Bytes.U32, m.offset(), i);
            wire.a().transmit(ctx, m);
        }
        List<Integer> got = new ArrayList<>();
        for (Packet m; (m = wire.b().take()) != null; ) {
            got.add(m.segment().get(Bytes.U32, m.offset()));
            m.free();
        }
        wire.a().stop(); // frees a frame still held back for reordering
        wire.b().stop();
        assertThat(buffers.small().inUse()).as("frames left in use").isEqualTo(before);
        return got;
    }

    @Test void theSameSeedLosesDuplicatesAndReordersTheSameFrames() {
        MemoryWire.Options o = MemoryWire.Options.perfect().withLoss(0.05).withDuplication(0.05).withReordering(0.05);
        List<Integer> first = run(o.withSeed(42));
        List<Integer> again = run(o.withSeed(42));
        List<Integer> other = run(o.withSeed(43));

        assertThat(again).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
        long lost = FRAMES - first.stream().distinct().count();
        long duplicated = first.size() - first.stream().distinct().count();
        long late = 0;
        for (int i = 1; i < first.size(); i++) if (first.get(i) < first.get(i - 1)) late++;
        // About 5 % each of 2000 frames: loose bounds that only fail if a fate is not drawn at all or always.
        assertThat(lost).isBetween(40L, 200L);
        assertThat(duplicated).isBetween(40L, 200L);
        assertThat(late).isBetween(40L, 200L);
        long lostInAll = 0;
        for (List<Integer> l : List.of(first, again, other)) lostInAll += FRAMES - l.stream().distinct().count();
        assertThat(kernel.stats().get(Stat.LINK_WIRE_LOSS)).isEqualTo(lostInAll);
    }

    @Test void aReorderedFrameArrivesRightAfterTheNextOne() {
        List<Integer> got = run(MemoryWire.Options.perfect().withReordering(0.2).withSeed(7));
        assertThat(got).hasSize(FRAMES).doesNotHaveDuplicates();
        for (int i = 1; i < got.size(); i++) {
            if (got.get(i) < got.get(i - 1)) assertThat(got.get(i - 1) - got.get(i)).as("displacement at %d", i).isEqualTo(1);
        }
    }

    @Test void aPerfectWireKeepsEveryFrameInOrder() {
        List<Integer> got = run(MemoryWire.Options.perfect());
        assertThat(got).hasSize(FRAMES).isSorted();
    }

    @Test void theOtherEndGetsTheBytesWithoutThisHostsState() {
        MemoryWire wire = new MemoryWire("w", MemoryWire.Options.perfect().withPollMode(true));
        Packet m = buffers.alloc(60);
        m.setData(m.offset(), 60);
        m.segment().set(JAVA_BYTE, m.offset() + 5, (byte) 42);
        m.tagAllocate(0x7461, 1, 4);
        m.setFlags(0x3);
        m.setCsumFlags(0x5);

        assertThat(wire.a().transmit(ctx, m)).isTrue();
        Packet got = wire.b().take();

        assertThat(got.length()).isEqualTo(60);
        assertThat(got.segment().get(JAVA_BYTE, got.offset() + 5)).isEqualTo((byte) 42);
        assertThat(got.hasTags()).isFalse();
        assertThat(got.flags()).isZero();
        assertThat(got.csumFlags()).isZero();
        got.free();
        assertThat(buffers.small().inUse()).isZero();
    }
}
