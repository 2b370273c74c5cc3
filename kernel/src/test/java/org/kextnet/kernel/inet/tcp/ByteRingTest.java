package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ByteRingTest {
    @Test void aSmallWriteAllocatesASmallRingAndBulkDataGrowsItToTheLimitKeepingTheBytesInOrder() {
        ByteRing ring = new ByteRing(256 * 1024);
        assertThat(ring.allocated()).isZero();
        byte[] request = new byte[64];
        Arrays.fill(request, (byte) 7);
        assertThat(ring.write(request, 0, request.length)).isEqualTo(64);
        assertThat(ring.allocated()).as("a request does not allocate the whole send buffer").isEqualTo(ByteRing.INITIAL);

        // Writes and acknowledgements of random sizes: the head moves, the data wraps, the ring doubles under it.
        SplittableRandom rnd = new SplittableRandom(3);
        byte[] stream = new byte[2_000_000];
        rnd.nextBytes(stream);
        ring.consume(64);
        byte[] out = new byte[stream.length];
        int written = 0, taken = 0;
        while (taken < stream.length) {
            written += ring.write(stream, written, Math.min(rnd.nextInt(1, 70_000), stream.length - written));
            int n = Math.min(ring.length(), rnd.nextInt(0, 50_000));
            ring.copyOut(0, out, taken, n);
            ring.consume(n);
            taken += n;
            assertThat(ring.allocated()).isLessThanOrEqualTo(256 * 1024);
        }
        assertThat(out).isEqualTo(stream);
        assertThat(ring.allocated()).isEqualTo(256 * 1024);
    }

    @Test void dataReInjectedPastTheLimitStillFits() {
        ByteRing ring = new ByteRing(1000);
        byte[] b = new byte[5000];
        new SplittableRandom(5).nextBytes(b);
        assertThat(ring.write(b, 0, b.length)).isEqualTo(1000);
        ring.writeAll(b, 1000, 4000);
        assertThat(ring.length()).isEqualTo(5000);
        assertThat(ring.space()).isZero();
        byte[] out = new byte[5000];
        ring.copyOut(0, out, 0, 5000);
        assertThat(out).isEqualTo(b);
    }
}
