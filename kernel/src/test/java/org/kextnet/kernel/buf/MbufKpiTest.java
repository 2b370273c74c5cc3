package org.kextnet.kernel.buf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;

/** The mbuf KPI on the kernel's buffers: data window, chains, copies, split, tags. */
class MbufKpiTest {
    private final Buffers buffers = new Buffers(64, 4);

    @AfterEach void tearDown() {
        assertThat(buffers.small().inUse() + buffers.large().inUse()).as("leaked buffers").isZero();
        buffers.close();
    }

    private Packet packet(int... bytes) {
        Packet m = buffers.alloc();
        m.setLength(bytes.length);
        for (int i = 0; i < bytes.length; i++) m.put8(i, bytes[i]);
        return m;
    }

    private Packet chain(byte[] first, byte[] second) {
        Packet a = buffers.alloc();
        a.setLength(first.length);
        a.copyFrom(0, first, 0, first.length);
        Packet b = buffers.alloc();
        b.setLength(second.length);
        b.copyFrom(0, second, 0, second.length);
        a.next = b;
        return a;
    }

    private static byte[] seq(int from, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (from + i);
        return b;
    }

    @Test void prependUsesHeadroomAndRefusesBeyondIt() {
        Packet m = packet(1, 2, 3);
        int head = m.headroom();
        assertThat(m.prepend(4)).isTrue();
        assertThat(m.length()).isEqualTo(7);
        assertThat(m.headroom()).isEqualTo(head - 4);
        assertThat(m.prepend(head)).isFalse();
        assertThat(m.length()).isEqualTo(7);
        m.free();
    }

    @Test void adjTrimsFrontAndBackAcrossTheChain() {
        Packet m = chain(seq(0, 10), seq(10, 10));
        m.adj(12);
        assertThat(m.packetLength()).isEqualTo(8);
        assertThat(m.toByteArray()).isEqualTo(seq(12, 8));
        m.adj(-5);
        assertThat(m.toByteArray()).isEqualTo(seq(12, 3));
        m.adj(-100);
        assertThat(m.packetLength()).isZero();
        m.free();
    }

    @Test void pullupMakesBytesContiguousAndKeepsTheHead() {
        Packet m = chain(seq(0, 4), seq(4, 20));
        assertThat(m.pullup(10)).isZero();
        assertThat(m.length()).isEqualTo(10);
        assertThat(m.getU8(9)).isEqualTo(9);
        assertThat(m.toByteArray()).isEqualTo(seq(0, 24));
        assertThat(m.pullup(24)).isZero();
        assertThat(m.next()).isNull(); // the emptied second buffer went back to the pool
        assertThat(m.pullup(25)).isEqualTo(Errno.EINVAL);
        m.free();
    }

    @Test void copyBackGrowsThePacketAndCopyDataReadsAcrossTheChain() {
        Packet m = packet(1, 2);
        assertThat(m.copyBack(4, new byte[] {9, 9}, 0, 2)).isZero();
        assertThat(m.toByteArray()).containsExactly(1, 2, 0, 0, 9, 9);
        byte[] big = seq(0, 3000); // more than one 2 KiB buffer: grows into a chain
        assertThat(m.copyBack(0, big, 0, big.length)).isZero();
        assertThat(m.next()).isNotNull();
        byte[] out = new byte[3000];
        m.copyData(0, out, 0, 3000);
        assertThat(out).isEqualTo(big);
        assertThat(m.copyBack(-1, big, 0, 1)).isEqualTo(Errno.EINVAL);
        assertThatThrownBy(() -> m.copyData(2999, out, 0, 2)).isInstanceOf(IndexOutOfBoundsException.class);
        m.free();
    }

    @Test void dupCopyAndSplitCarryHeaderAndTags() {
        Packet m = chain(seq(0, 6), seq(6, 6));
        m.setFlags(Packet.F_BROADCAST);
        m.setCsumFlags(Packet.CSUM_IP_VALID);
        m.tagAllocate(5, 1, 4)[0] = 42;
        Packet d = m.dup();
        assertThat(d.toByteArray()).isEqualTo(seq(0, 12));
        assertThat(d.flags()).isEqualTo(Packet.F_BROADCAST);
        assertThat(d.tagFind(5, 1)[0]).isEqualTo((byte) 42);
        Packet c = m.copy(3, 5);
        assertThat(c.toByteArray()).isEqualTo(seq(3, 5));
        assertThat(m.copy(10, 5)).isNull();
        Packet tail = m.split(8);
        assertThat(m.toByteArray()).isEqualTo(seq(0, 8));
        assertThat(tail.toByteArray()).isEqualTo(seq(8, 4));
        assertThat(tail.csumFlags()).isEqualTo(Packet.CSUM_IP_VALID);
        assertThat(tail.tagLength(5, 1)).isEqualTo(4);
        assertThat(m.split(99)).isNull();
        d.free();
        c.free();
        tail.free();
        m.free();
    }

    @Test void tagsAllocateFindFreeAndValidate() {
        Packet m = packet(1);
        assertThat(m.tagFind(1, 1)).isNull();
        assertThat(m.tagLength(1, 1)).isEqualTo(-1);
        byte[] t = m.tagAllocate(1, 1, 8);
        assertThat(Arrays.copyOf(t, 8)).containsOnly(0);
        t[0] = 7;
        assertThat(m.tagFind(1, 1)[0]).isEqualTo((byte) 7);
        assertThat(m.tagAllocate(1, 1, 0)).isNull();
        assertThat(m.tagAllocate(1, 1, Packet.MAX_TAG_LENGTH + 1)).isNull();
        assertThat(m.tagAllocate(1, 0x10000, 4)).isNull();
        assertThat(m.tagFree(1, 1)).isTrue();
        assertThat(m.tagFree(1, 1)).isFalse();
        int gen = m.generation();
        m.free();
        assertThatThrownBy(m::free).isInstanceOf(IllegalStateException.class);
        // The pool hands the buffer freed last out first, so this is usually the same buffer: only its
        // generation tells a stale reference from the new owner's.
        Packet again = buffers.alloc();
        assertThat(again.hasTags()).isFalse(); // tags do not survive the buffer's reuse
        if (again == m) assertThat(again.generation()).isNotEqualTo(gen);
        again.free();
    }
}
