package org.kextnet.kernel.inet.tcp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A FIFO of bytes in a ring, with a soft limit. A connection's send buffer ({@code so_snd}) is one: it holds
 * what the user wrote and the peer has not acknowledged, from the first unacknowledged data byte onwards;
 * sent bytes stay until acknowledged, for retransmission, and segments are copied out of it into fresh
 * packet buffers, so no packet buffer is held while waiting for an ACK. The receive side uses another for
 * data that socket filters have let through ({@link ReceiveBuffer}).
 *
 * <p>Owned by its {@link TcpConnection} and used only under its lock. The ring is a heap array: it never
 * leaves the connection, the garbage collector frees it with the connection, and copies between it and
 * off-heap packet buffers cost what off-heap copies cost; copies to and from a user's array are plain
 * array copies. It is allocated on first write (a half-open connection holds none), small, and doubles as data
 * needs room up to the limit (and beyond it only when an extension re-injects more than fits); it never shrinks.
 */
final class ByteRing {
    private static final byte[] NONE = new byte[0];
    /**
     * The first array's size (the receive ring's too): a request or a reply of a few hundred bytes fits, and each
     * connection of a request and a reply allocates and zeroes two of these, not two pages; a bulk flow reaches its
     * buffer's size in a few more doublings.
     */
    static final int INITIAL = 512;

    private byte[] ring = NONE;
    /** Ring index of the first byte. */
    private int head;
    /** Bytes held. */
    private int length;
    /** The size the user asked for: {@link #space()} is measured against it. */
    private int limit;

    ByteRing(int limit) { this.limit = limit; }

    int length() { return length; }
    int limit() { return limit; }
    /** Bytes of array allocated now. */
    int allocated() { return ring.length; }
    /** Bytes a write may add without going over the limit. */
    int space() { return Math.max(0, limit - length); }

    void setLimit(int limit) { this.limit = limit; }

    /** Copies up to {@link #space()} bytes from {@code src} (an array or a segment, see {@link Copy}); returns how many. */
    int write(Object src, long off, int len) {
        int n = Math.min(len, space());
        if (n > 0) append(src, off, n);
        return n;
    }

    /** Copies all {@code len} bytes, growing the ring past the limit if needed (data an extension re-injects). */
    void writeAll(Object src, long off, int len) {
        if (len > 0) append(src, off, len);
    }

    private void append(Object src, long off, int n) {
        ensureCapacity(length + n);
        int cap = ring.length;
        int tail = head + length;
        if (tail >= cap) tail -= cap;
        int first = Math.min(n, cap - tail);
        Copy.in(src, off, ring, tail, first);
        if (first < n) Copy.in(src, off + first, ring, 0, n - first);
        length += n;
    }

    private void ensureCapacity(int need) {
        if (need <= ring.length) return;
        // Doubling from a small first array up to the limit: a connection that carries a request and a reply never
        // allocates (and zeroes) a whole send buffer, 256 KiB by default; a bulk flow reaches the limit in a few
        // doublings. Past the limit (data an extension re-injects) it keeps doubling.
        long doubled = Math.max(INITIAL, 2L * ring.length);
        long want = need > limit ? Math.max(need, doubled) : Math.min(limit, Math.max(need, doubled));
        int cap = (int) Math.max(need, Math.min(want, Integer.MAX_VALUE - 8));
        byte[] r = new byte[cap];
        copyOut(0, r, 0, length);
        ring = r;
        head = 0;
    }

    /** Copies {@code len} bytes starting {@code at} bytes after the first into {@code dst} (an array or a segment). */
    void copyOut(int at, Object dst, long dstOff, int len) {
        if (at < 0 || len < 0 || at + len > length) throw new IndexOutOfBoundsException(at + "+" + len + " of " + length);
        int cap = ring.length;
        int from = head + at;
        if (from >= cap) from -= cap;
        int first = Math.min(len, cap - from);
        Copy.out(ring, from, dst, dstOff, first);
        if (first < len) Copy.out(ring, 0, dst, dstOff + first, len - first);
    }

    /** Drops the first {@code n} bytes (acknowledged). */
    void consume(int n) {
        if (n < 0 || n > length) throw new IllegalArgumentException("consume " + n + " of " + length);
        length -= n;
        head += n;
        if (head >= ring.length) head -= ring.length;
        if (length == 0) head = 0;
    }

    /** Drops everything and lets the ring go (the connection closed, or a flush). */
    void release() {
        ring = NONE;
        head = length = 0;
    }

    /**
     * Copies between a ring's array and the other side of a transfer: a {@code byte[]} (a user's heap buffer:
     * a plain array copy) or a {@link MemorySegment} (a packet buffer or a direct buffer), without wrapping
     * the array in a segment, so that nothing is allocated per call.
     */
    static final class Copy {
        private Copy() {}

        static void in(Object src, long off, byte[] ring, int at, int n) {
            if (src instanceof byte[] a) System.arraycopy(a, (int) off, ring, at, n);
            else MemorySegment.copy((MemorySegment) src, ValueLayout.JAVA_BYTE, off, ring, at, n);
        }

        static void out(byte[] ring, int at, Object dst, long off, int n) {
            if (dst instanceof byte[] a) System.arraycopy(ring, at, a, (int) off, n);
            else MemorySegment.copy(ring, at, (MemorySegment) dst, ValueLayout.JAVA_BYTE, off, n);
        }
    }
}
