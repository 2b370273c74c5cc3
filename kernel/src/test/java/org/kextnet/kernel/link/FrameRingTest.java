package org.kextnet.kernel.link;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.buf.PacketPool;
import org.kextnet.kernel.net.TxClaim;
import org.kextnet.kernel.wire.Bytes;

/** {@link FrameRing}: single frames and claims from several producers, taken by one consumer. */
class FrameRingTest {
    private final PacketPool pool = new PacketPool("ring", 4096, org.kextnet.kernel.buf.Buffers.SMALL_SIZE);

    @AfterEach void close() {
        assertThat(pool.inUse()).isZero();
        pool.close();
    }

    private Packet frame(int producer, int seq) {
        Packet m;
        while ((m = pool.alloc()) == null) Thread.onSpinWait(); // the consumer frees them
        m.setLength(8);
        m.segment().set(Bytes.U32, m.offset(), producer);
        m.segment().set(Bytes.U32, m.offset() + 4, seq);
        return m;
    }

    @Test void capacityIsRoundedUpToAPowerOfTwoAndAFullRingRefuses() {
        FrameRing ring = new FrameRing(5);
        assertThat(ring.capacity()).isEqualTo(8);
        List<Packet> in = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Packet m = frame(0, i);
            assertThat(ring.offer(m)).isTrue();
            in.add(m);
        }
        Packet extra = frame(0, 8);
        assertThat(ring.offer(extra)).isFalse();
        assertThat(ring.claim(new TxClaim(), 1)).isZero();
        extra.free();
        for (Packet m : in) assertThat(ring.poll()).isSameAs(m);
        assertThat(ring.poll()).isNull();
        assertThat(ring.isEmpty()).isTrue();
        in.forEach(Packet::free);
    }

    @Test void theConsumerStopsAtAClaimedPlaceUntilItIsFilledOrReleased() {
        FrameRing ring = new FrameRing(8);
        TxClaim claim = new TxClaim();
        assertThat(ring.claim(claim, 3)).isEqualTo(3);
        Packet after = frame(1, 0);
        assertThat(ring.offer(after)).isTrue();
        assertThat(ring.poll()).isNull();
        assertThat(ring.peek()).isNull();
        assertThat(ring.isEmpty()).isFalse(); // taken places: a reader must not sleep long
        Packet first = frame(0, 0);
        ring.put(claim, first);
        assertThat(ring.poll()).isSameAs(first);
        assertThat(ring.poll()).isNull();
        ring.release(claim);
        assertThat(claim.isOpen()).isFalse();
        assertThat(ring.peek()).isSameAs(after);
        assertThat(ring.poll()).isSameAs(after);
        assertThat(ring.isEmpty()).isTrue();
        first.free();
        after.free();
    }

    @Test void framesOfManyProducersArriveOnceEachAndInEachProducersOrder() throws Exception {
        // Two producers offer frame by frame; two claim runs of 1..64 places and leave some unused, as filters
        // taking packets would. The consumer must see every frame once, each producer's in sequence.
        FrameRing ring = new FrameRing(256);
        int producers = 4, perProducer = 200_000;
        int[] expected = new int[producers];
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int id = p;
            boolean claims = p >= 2;
            threads.add(Thread.ofPlatform().start(() -> {
                TxClaim claim = new TxClaim();
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                for (int seq = 0; seq < perProducer; ) {
                    if (!claims) {
                        Packet m = frame(id, seq);
                        while (!ring.offer(m)) Thread.yield(); // yield, not spin: the test may share 2 cores with a busy build
                        seq++;
                        continue;
                    }
                    int k = ring.claim(claim, rnd.nextInt(1, 65));
                    if (k == 0) {
                        Thread.yield();
                        continue;
                    }
                    try {
                        for (int i = 0; i < k && seq < perProducer; i++) {
                            if (rnd.nextInt(8) == 0) continue; // a place left unused
                            ring.put(claim, frame(id, seq++));
                        }
                    } finally {
                        ring.release(claim);
                    }
                }
            }));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600); // generous: 102 s were not enough at load 40
        int total = 0;
        List<String> problems = new ArrayList<>();
        while (total < producers * perProducer && System.nanoTime() < deadline) {
            Packet m = ring.poll();
            if (m == null) {
                Thread.yield();
                continue;
            }
            int p = m.segment().get(Bytes.U32, m.offset()), seq = m.segment().get(Bytes.U32, m.offset() + 4);
            if (seq != expected[p] && problems.size() < 10) problems.add("producer " + p + ": " + seq + " after " + (expected[p] - 1));
            expected[p] = seq + 1;
            m.free();
            total++;
        }
        for (Thread t : threads) t.join(10_000);

        assertThat(problems).isEmpty();
        assertThat(total).isEqualTo(producers * perProducer);
        assertThat(ring.poll()).isNull();
        assertThat(ring.isEmpty()).isTrue();
    }
}
