package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ReceiveBufferTest {
    private static final int BASE = -10; // sequence numbers that wrap through 0

    private static MemorySegment bytes(int from, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) b[i] = (byte) (from + i);
        return MemorySegment.ofArray(b);
    }

    private static byte[] read(ReceiveBuffer r, int len) {
        byte[] b = new byte[len];
        int n = r.read(MemorySegment.ofArray(b), 0, len);
        return Arrays.copyOf(b, n);
    }

    @Test void outOfOrderDataBecomesReadableWhenTheHoleFills() {
        ReceiveBuffer r = new ReceiveBuffer(100, 8);
        r.init(BASE);
        assertThat(r.place(BASE + 20, bytes(20, 10), 0, 10)).isZero();
        assertThat(r.place(BASE + 40, bytes(40, 10), 0, 10)).isZero();
        assertThat(r.rangeCount()).isEqualTo(2);
        assertThat(r.readable()).isZero();
        assertThat(r.place(BASE, bytes(0, 20), 0, 20)).isEqualTo(30); // joins [20, 30)
        assertThat(r.end()).isEqualTo(BASE + 30);
        assertThat(r.rangeCount()).isEqualTo(1);
        assertThat(r.place(BASE + 30, bytes(30, 10), 0, 10)).isEqualTo(20);
        assertThat(read(r, 100)).isEqualTo(bytes(0, 50).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    @Test void aRandomArrivalOrderWithDuplicatesAndWrapAroundReassemblesTheStream() {
        SplittableRandom rnd = new SplittableRandom(7);
        ReceiveBuffer r = new ReceiveBuffer(4096, 64);
        int seq = BASE;
        r.init(seq);
        byte[] stream = new byte[200_000];
        rnd.nextBytes(stream);
        int consumed = 0;
        byte[] out = new byte[stream.length];
        while (consumed < stream.length) {
            int end = r.end() - BASE;
            int s = end + rnd.nextInt(-50, 3000);
            int len = rnd.nextInt(1, 600);
            s = Math.max(s, end);
            int limit = r.rightEdge() - BASE;
            len = Math.min(Math.min(len, limit - s), stream.length - s);
            if (len > 0) r.place(BASE + s, MemorySegment.ofArray(stream), s, len);
            if (rnd.nextInt(4) == 0) consumed += r.read(MemorySegment.ofArray(out), consumed, rnd.nextInt(1, 5000));
        }
        assertThat(out).isEqualTo(stream);
    }

    @Test void tooManyHolesRefuseTheSegmentAndDuplicatesAreNoticed() {
        ReceiveBuffer r = new ReceiveBuffer(1000, 2);
        r.init(0);
        r.place(10, bytes(0, 5), 0, 5);
        r.place(30, bytes(0, 5), 0, 5);
        assertThat(r.place(50, bytes(0, 5), 0, 5)).isEqualTo(-1);
        r.place(31, bytes(0, 2), 0, 2);
        assertThat(r.lastWasDuplicate).isTrue();
        r.place(20, bytes(0, 10), 0, 10); // bridges into [30, 35): still two ranges
        assertThat(r.lastWasDuplicate).isFalse();
        assertThat(r.rangeCount()).isEqualTo(2);
    }

    @Test void sackBlocksComeMostRecentFirst() {
        ReceiveBuffer r = new ReceiveBuffer(1000, 8);
        r.init(0);
        for (int at : new int[] {100, 300, 500, 200, 700}) r.place(at, bytes(0, 10), 0, 10);
        int[] out = new int[8];
        assertThat(r.sackBlocks(out, 0, 4)).isEqualTo(4);
        assertThat(out).containsExactly(700, 710, 200, 210, 500, 510, 300, 310);
        r.place(110, bytes(0, 90), 0, 90); // joins 100..210: reported first now
        r.sackBlocks(out, 0, 4);
        assertThat(out).startsWith(100, 210, 700, 710, 500, 510, 300, 310);
        r.place(0, bytes(0, 100), 0, 100); // everything up to 210 is in order: its block goes
        assertThat(r.sackBlocks(out, 0, 4)).isEqualTo(3);
        assertThat(out).startsWith(700, 710, 500, 510, 300, 310);
    }

    @Test void aReadStopsAtTheUrgentMarkAndSkipsTheByteTakenOutOfBand() {
        ReceiveBuffer r = new ReceiveBuffer(100, 4);
        r.setPullOutOfBand(true);
        r.init(0);
        assertThat(r.urgent(6)).isTrue(); // the urgent byte is 5; it has not arrived
        assertThat(r.peekOutOfBand()).isEqualTo(-1);
        r.place(0, bytes(0, 10), 0, 10);
        assertThat(r.peekOutOfBand()).isEqualTo(5);
        assertThat(r.readable()).isEqualTo(9);
        assertThat(read(r, 100)).containsExactly(0, 1, 2, 3, 4);
        assertThat(r.atMark()).isTrue();
        assertThat(read(r, 100)).containsExactly(6, 7, 8, 9);
        assertThat(r.takeOutOfBand()).isEqualTo(5);
        assertThat(r.takeOutOfBand()).isEqualTo(-1);
    }

    @Test void growingKeepsEveryByteInPlace() {
        ReceiveBuffer r = new ReceiveBuffer(64, 4);
        r.init(BASE);
        r.place(BASE, bytes(0, 50), 0, 50);
        read(r, 40); // the head moves near the ring's end
        r.place(BASE + 50, bytes(50, 50), 0, 50); // wraps
        r.place(BASE + 102, bytes(102, 2), 0, 2); // out of order
        r.grow(1000);
        r.place(BASE + 100, bytes(100, 2), 0, 2);
        assertThat(read(r, 1000)).isEqualTo(Arrays.copyOfRange(bytes(0, 104).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), 40, 104));
    }

    @Test void theRingStartsSmallAndGrowsAsDataNeedsItKeepingEveryByteThroughWrapsAndHoles() {
        ReceiveBuffer r = new ReceiveBuffer(256 * 1024, 64);
        r.init(BASE);
        r.place(BASE, bytes(0, 64), 0, 64);
        assertThat(r.allocated()).as("a request does not allocate the whole buffer").isEqualTo(ByteRing.INITIAL);
        assertThat(read(r, 64)).isEqualTo(bytes(0, 64).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));

        // A random arrival order, out-of-order data far ahead of the small ring, the reader lagging: the ring grows
        // while its head is anywhere, and every byte comes out in order.
        SplittableRandom rnd = new SplittableRandom(11);
        byte[] stream = new byte[3_000_000];
        rnd.nextBytes(stream);
        int base = BASE + 64;
        byte[] out = new byte[stream.length];
        int consumed = 0;
        while (consumed < stream.length) {
            int end = r.end() - base;
            int s = Math.max(end, end + rnd.nextInt(-100, 40_000));
            int len = rnd.nextInt(1, 1500);
            len = Math.min(Math.min(len, r.rightEdge() - base - s), stream.length - s);
            if (len > 0) r.place(base + s, MemorySegment.ofArray(stream), s, len);
            if (rnd.nextInt(3) == 0) consumed += r.read(MemorySegment.ofArray(out), consumed, rnd.nextInt(1, 20_000));
        }
        assertThat(out).isEqualTo(stream);
        assertThat(r.allocated()).isGreaterThan(ByteRing.INITIAL).isLessThanOrEqualTo(256 * 1024);
    }
}
