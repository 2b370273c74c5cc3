package org.kextnet.kernel.buf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BufferCacheTest {
    private static final int COUNT = 3 * BufferCache.BULK + 10;
    private final PacketPool pool = new PacketPool("test", COUNT, 256);

    @AfterEach void allReturned() {
        assertThat(pool.inUse()).isZero();
        pool.close();
    }

    @Test void aCachedBufferIsResetAndTheRestOfTheBulkCountsAsAvailable() {
        try (BufferCache cache = new BufferCache(pool)) {
            Packet m = cache.alloc();

            assertThat(m.isFree()).isFalse();
            assertThat(m.offset()).isEqualTo(PacketPool.DEFAULT_HEADROOM);
            assertThat(m.length()).isZero();
            assertThat(cache.size()).isEqualTo(BufferCache.BULK - 1); // one CAS took a whole bulk
            assertThat(pool.inUse()).isEqualTo(1);
            cache.free(m);
            assertThat(m.isFree()).isTrue();
            assertThat(cache.size()).isEqualTo(BufferCache.BULK);
            assertThat(cache.alloc()).as("the buffer freed last comes back first").isSameAs(m);
            cache.free(m);
        }
    }

    @Test void everyBufferCanBeTakenThroughTheCacheOnceAndTheCacheThenReportsEmpty() {
        try (BufferCache cache = new BufferCache(pool)) {
            List<Packet> all = new ArrayList<>();
            for (Packet m; (m = cache.alloc()) != null; ) all.add(m);

            assertThat(all).hasSize(COUNT).doesNotHaveDuplicates();
            assertThat(pool.alloc()).isNull();
            all.forEach(cache::free); // more than the cache holds: it spills to the pool in bulks
            assertThat(cache.size()).isLessThanOrEqualTo(2 * BufferCache.BULK);
            assertThat(pool.available()).isEqualTo(COUNT);
        }
    }

    @Test void closingGivesEveryBufferBackToTheSharedStack() {
        BufferCache cache = new BufferCache(pool);
        List<Packet> some = new ArrayList<>();
        for (int i = 0; i < 10; i++) some.add(cache.alloc());
        some.forEach(cache::free);
        cache.close();

        List<Packet> all = new ArrayList<>();
        for (Packet m; (m = pool.alloc()) != null; ) all.add(m);
        assertThat(all).hasSize(COUNT).doesNotHaveDuplicates();
        all.forEach(Packet::free);
        Packet late = cache.alloc(); // a closed cache passes straight through to the pool
        cache.free(late);
        assertThat(cache.size()).isZero();
    }

    @Test void aSecondFreeThroughTheCacheThrowsAndChangesNothing() {
        try (BufferCache cache = new BufferCache(pool)) {
            Packet m = cache.alloc();
            cache.free(m);
            int held = cache.size();

            assertThatThrownBy(() -> cache.free(m)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(m::free).isInstanceOf(IllegalStateException.class);
            assertThat(cache.size()).isEqualTo(held);
        }
    }

    @Test void aChainWithAnotherPoolsBufferSendsThatBufferHome() {
        try (PacketPool other = new PacketPool("other", 4, 256); BufferCache cache = new BufferCache(pool)) {
            Packet head = cache.alloc();
            Packet tail = other.alloc();
            head.next = tail;

            cache.free(head);
            assertThat(head.isFree()).isTrue();
            assertThat(tail.isFree()).isTrue();
            assertThat(other.inUse()).isZero();
            assertThat(cache.size()).isEqualTo(BufferCache.BULK);
        }
    }

    /** A producer allocates through its cache, a consumer frees through another: buffers cross threads. */
    @Test void twoThreadsPassingBuffersThroughTheirCachesNeverShareOne() throws Exception {
        Set<Packet> held = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        BlockingQueue<Packet> wire = new ArrayBlockingQueue<>(COUNT);
        int packets = 200_000;
        // Threads of their own: the common pool may have a single worker on a small machine.
        ExecutorService threads = Executors.newFixedThreadPool(2);
        CompletableFuture<Void> producer = CompletableFuture.runAsync(() -> {
            try (BufferCache cache = new BufferCache(pool)) {
                for (int sent = 0; sent < packets; ) {
                    Packet m = cache.alloc();
                    if (m == null) { Thread.onSpinWait(); continue; }
                    if (!held.add(m)) throw new AssertionError("handed out twice: " + m);
                    wire.add(m);
                    sent++;
                }
            }
        }, threads);
        CompletableFuture<Void> consumer = CompletableFuture.runAsync(() -> {
            try (BufferCache cache = new BufferCache(pool)) {
                for (int got = 0; got < packets; got++) {
                    Packet m = wire.poll(10, TimeUnit.SECONDS);
                    if (m == null) throw new AssertionError("nothing after " + got);
                    held.remove(m);
                    cache.free(m);
                }
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, threads);
        try {
            CompletableFuture.allOf(producer, consumer).get(60, TimeUnit.SECONDS);
        } finally {
            threads.shutdownNow();
        }
        assertThat(pool.available()).isEqualTo(COUNT);
    }
}
