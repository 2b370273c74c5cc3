package org.kextnet.kernel.inet.tcp;

/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4): {@code a} is before {@code b} when the
 * signed difference is negative. Valid while the numbers compared are less than 2^31 apart, which the
 * window limits guarantee.
 */
final class Seq {
    private Seq() {}

    static boolean lt(int a, int b) { return a - b < 0; }
    static boolean leq(int a, int b) { return a - b <= 0; }
    static boolean gt(int a, int b) { return a - b > 0; }
    static boolean geq(int a, int b) { return a - b >= 0; }
    static int max(int a, int b) { return a - b >= 0 ? a : b; }
    static int min(int a, int b) { return a - b <= 0 ? a : b; }
    /** {@code lo <= x < hi}. */
    static boolean in(int x, int lo, int hi) { return x - lo >= 0 && x - hi < 0; }
}
