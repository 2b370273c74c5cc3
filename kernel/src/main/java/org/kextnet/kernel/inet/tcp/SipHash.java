package org.kextnet.kernel.inet.tcp;

/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012) over five 64-bit words: the keyed pseudo-random function behind
 * initial sequence numbers (RFC 6528), timestamp offsets (RFC 7323 7.1), ephemeral ports (RFC 6056) and SYN
 * cookies. Allocation-free; the key is 128 bits.
 */
final class SipHash {
    private final long k0, k1;

    SipHash(long k0, long k1) {
        this.k0 = k0;
        this.k1 = k1;
    }

    /** The hash of the words {@code m0..m4} (a connection's addresses, ports and a tag). */
    long hash(long m0, long m1, long m2, long m3, long m4) {
        long v0 = k0 ^ 0x736f6d6570736575L, v1 = k1 ^ 0x646f72616e646f6dL;
        long v2 = k0 ^ 0x6c7967656e657261L, v3 = k1 ^ 0x7465646279746573L;
        long w; // the five words, then the length word, compressed one by one
        for (int i = 0; i < 6; i++) {
            w = switch (i) { case 0 -> m0; case 1 -> m1; case 2 -> m2; case 3 -> m3; case 4 -> m4; default -> 40L << 56; };
            v3 ^= w;
            for (int r = 0; r < 2; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= w;
        }
        v2 ^= 0xff;
        for (int r = 0; r < 4; r++) {
            v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }
}
