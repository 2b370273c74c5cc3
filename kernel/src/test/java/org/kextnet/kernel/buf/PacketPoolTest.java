package org.kextnet.kernel.buf;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.wire.Bytes;

class PacketPoolTest {
    private static final int COUNT = 24;
    private final PacketPool pool = new PacketPool("test", COUNT, 256);

    @AfterEach void allReturned() {
        assertThat(pool.inUse()).isZero();
        pool.close();
    }

    private List<Packet> allocAll() {
        List<Packet> l = new ArrayList<>();
        for (Packet m; (m = pool.alloc()) != null; ) l.add(m);
        return l;
    }

    // The vector stages may access buffers by address (Packet.UNCHECKED): a closed pool must not unmap memory that
    // a buffer still in use points into. A buffer's own segment shows it: its scope stays alive.

    @Test void closingWithABufferInUseKeepsTheMemoryMapped() {
        PacketPool other = new PacketPool("other", 4, 256);
        Packet m = other.alloc();
        m.setLength(8);

        other.close();

        m.segment().set(Bytes.U64, m.offset(), 0x0102030405060708L); // would throw (scope closed) if unmapped
        assertThat(m.segment().get(Bytes.U64, m.offset())).isEqualTo(0x0102030405060708L);
    }

    @Test void closingWithNoBufferInUseUnmapsTheMemory() {
        PacketPool other = new PacketPool("other", 4, 256);
        Packet m = other.alloc();
        m.free();

        other.close();

        assertThat(m.segment().scope().isAlive()).isFalse();
    }

    @Test void everyBufferIsTakenOnceThenThePoolIsEmpty() {
        List<Packet> all = allocAll();

        assertThat(all).hasSize(COUNT).doesNotHaveDuplicates();
        assertThat(pool.inUse()).isEqualTo(COUNT);
        assertThat(pool.available()).isZero();
        all.forEach(Packet::free);
        assertThat(pool.available()).isEqualTo(COUNT);
    }

    @Test void theBufferFreedLastIsTakenFirst() {
        Packet a = pool.alloc(), b = pool.alloc();
        b.free();
        a.free();

        Packet first = pool.alloc();
        assertThat(first).isSameAs(a); // still warm in the cache
        assertThat(pool.alloc()).isSameAs(b);
        pool.alloc().free();
        first.free();
        b.free();
    }

    @Test void buffersComeBackInAnyOrder() {
        List<Packet> all = allocAll();
        Collections.shuffle(all, new java.util.Random(3));
        all.forEach(Packet::free);

        List<Packet> again = allocAll();
        assertThat(again).hasSize(COUNT).doesNotHaveDuplicates();
        again.forEach(Packet::free);
    }

    /** 4 threads x 8 buffers against 24: they race for the head of the stack, and sometimes find it empty. */
    @Test void threadsTakingAndGivingConcurrentlyNeverShareABuffer() throws Exception {
        // Every buffer handed out is recorded until it is given back: a second hand-out fails the worker.
        Set<Packet> held = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        List<CompletableFuture<Void>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            workers.add(CompletableFuture.runAsync(() -> {
                Packet[] mine = new Packet[8];
                for (int round = 0; round < 50_000; round++) {
                    for (int i = 0; i < mine.length; i++) {
                        mine[i] = pool.alloc();
                        if (mine[i] != null && !held.add(mine[i])) throw new AssertionError("handed out twice: " + mine[i]);
                    }
                    for (int i = 0; i < mine.length; i++) {
                        if (mine[i] == null) continue;
                        held.remove(mine[i]);
                        mine[i].free();
                        mine[i] = null;
                    }
                }
            }, r -> Thread.ofPlatform().start(r)));
        }
        for (CompletableFuture<Void> w : workers) w.get(30, TimeUnit.SECONDS);

        assertThat(held).isEmpty();
        assertThat(allocAll()).hasSize(COUNT).doesNotHaveDuplicates().allSatisfy(Packet::free);
    }
}
