package org.kextnet.kernel.inet.tcp;

import java.lang.foreign.MemorySegment;

import org.kextnet.kernel.wire.Tcp;

/**
 * A connection's receive buffer ({@code so_rcv}) and reassembly queue in one ring, addressed by sequence
 * number: the byte with sequence number {@code s} lives at ring index {@code head + (s - readSeq)}. In-order
 * bytes wait for the reader from {@link #readSeq()} to {@link #end()}; out-of-order bytes are written in
 * place beyond {@code end()} and their ranges kept in a small sorted list (the "assembler"), so filling a
 * hole makes everything behind it readable without a copy. The window TCP advertises never reaches past the
 * ring ({@link #rightEdge()}), so every acceptable segment fits.
 *
 * <p>The ranges also give the SACK blocks the receiver reports (RFC 2018 section 4: the block holding the
 * latest segment first, then the others most recent first) and D-SACK (RFC 2883), and the urgent mark
 * (RFC 9293 3.8.5, RFC 6093): a read never crosses the mark, and unless urgent data is read inline
 * ({@code SO_OOBINLINE}) the urgent byte is taken out of the stream as BSD does.
 *
 * <p>Owned by its {@link TcpConnection}, used under its lock. A heap array, allocated small on first data and
 * doubled as data needs room, up to the capacity (which receive-buffer auto-tuning raises); received packet buffers are copied in and freed at once, so a slow reader
 * holds no packet buffers.
 */
final class ReceiveBuffer {
    private static final byte[] NONE = new byte[0];
    private static final int RECENT = Tcp.MAX_SACK_BLOCKS;

    private byte[] ring = NONE;
    private int capacity;
    private int head;
    private int readSeq;
    private int contiguous;

    // the assembler: disjoint, non-adjacent ranges [start, end) beyond end(), sorted
    private final int[] rStart, rEnd;
    private int ranges;
    /** Whether the last {@link #place} found every byte already held (a duplicate: D-SACK it). */
    boolean lastWasDuplicate;

    // SACK blocks to report, most recent first (RFC 2018 section 4)
    private final int[] recentStart = new int[RECENT], recentEnd = new int[RECENT];
    private int recentCount;

    // urgent data
    private boolean markValid;
    private int markSeq;
    private boolean pullOutOfBand;
    private boolean oobPulled;
    private int oobByte = -1;

    ReceiveBuffer(int capacity, int maxRanges) {
        this.capacity = capacity;
        this.rStart = new int[maxRanges];
        this.rEnd = new int[maxRanges];
    }

    /** Starts the stream at {@code seq} (the first data byte, IRS + 1). */
    void init(int seq) {
        readSeq = seq;
        contiguous = 0;
        head = 0;
        ranges = 0;
        recentCount = 0;
    }

    int capacity() { return capacity; }

    /** Bytes of array allocated now (at most the capacity, or what the data needed). */
    int allocated() { return ring.length; }
    int readSeq() { return readSeq; }
    /** One past the last in-order byte. */
    int end() { return readSeq + contiguous; }
    /** In-order bytes not yet read (the urgent byte, when taken out of band, not counted). */
    int readable() { return contiguous - (oobPulled && markValid && Seq.in(markSeq, readSeq, end()) ? 1 : 0); }
    /** The highest sequence number the ring can hold, plus one: no window may reach past it. */
    int rightEdge() { return readSeq + capacity; }
    /** Whether out-of-order data is held. */
    boolean hasHoles() { return ranges > 0; }
    int rangeCount() { return ranges; }

    /**
     * Writes {@code len} bytes with sequence number {@code seq}, already trimmed by the caller to
     * {@code [end(), rightEdge())}.
     * @return how far {@link #end()} moved, or -1 if the segment would need more out-of-order ranges than kept
     *         (nothing is written then)
     */
    int place(int seq, Object src, long off, int len) {
        lastWasDuplicate = false;
        if (len <= 0) return 0;
        int e = seq + len;
        int oldEnd = end();
        if (seq != oldEnd) {
            int i = insertRange(seq, e);
            if (i < 0) return -1;
            remember(rStart[i], rEnd[i]);
        }
        ensureRing(seq - readSeq + len);
        int cap = ring.length;
        int at = head + (seq - readSeq);
        if (at >= cap) at -= cap;
        int first = Math.min(len, cap - at);
        ByteRing.Copy.in(src, off, ring, at, first);
        if (first < len) ByteRing.Copy.in(src, off + first, ring, 0, len - first);
        if (seq == oldEnd) {
            contiguous += len;
            absorbRanges();
        }
        int moved = end() - oldEnd;
        if (moved > 0) {
            forgetBelow(end());
            pullUrgentIfArrived();
        }
        return moved;
    }

    /** Merges [s, e) into the assembler; returns the index of the range now holding it, or -1 when full. */
    private int insertRange(int s, int e) {
        int i = 0;
        while (i < ranges && Seq.lt(rEnd[i], s)) i++;
        if (i < ranges && Seq.leq(rStart[i], e)) { // overlaps or touches range i: merge forward
            if (Seq.leq(rStart[i], s) && Seq.leq(e, rEnd[i])) lastWasDuplicate = true;
            rStart[i] = Seq.min(rStart[i], s);
            rEnd[i] = Seq.max(rEnd[i], e);
            int j = i + 1;
            while (j < ranges && Seq.leq(rStart[j], rEnd[i])) {
                rEnd[i] = Seq.max(rEnd[i], rEnd[j]);
                j++;
            }
            int removed = j - i - 1;
            if (removed > 0) {
                System.arraycopy(rStart, j, rStart, i + 1, ranges - j);
                System.arraycopy(rEnd, j, rEnd, i + 1, ranges - j);
                ranges -= removed;
            }
            return i;
        }
        if (ranges == rStart.length) return -1;
        System.arraycopy(rStart, i, rStart, i + 1, ranges - i);
        System.arraycopy(rEnd, i, rEnd, i + 1, ranges - i);
        rStart[i] = s;
        rEnd[i] = e;
        ranges++;
        return i;
    }

    /** Moves ranges that now touch the in-order data into it. */
    private void absorbRanges() {
        int k = 0;
        while (k < ranges && Seq.leq(rStart[k], end())) {
            if (Seq.gt(rEnd[k], end())) contiguous = rEnd[k] - readSeq;
            k++;
        }
        if (k > 0) {
            System.arraycopy(rStart, k, rStart, 0, ranges - k);
            System.arraycopy(rEnd, k, rEnd, 0, ranges - k);
            ranges -= k;
        }
    }

    private void remember(int s, int e) {
        int w = 0;
        for (int r = 0; r < recentCount; r++) { // drop blocks the new one overlaps
            if (Seq.lt(recentEnd[r], s) || Seq.gt(recentStart[r], e)) {
                recentStart[w] = recentStart[r];
                recentEnd[w] = recentEnd[r];
                w++;
            }
        }
        recentCount = Math.min(w, RECENT - 1);
        System.arraycopy(recentStart, 0, recentStart, 1, recentCount);
        System.arraycopy(recentEnd, 0, recentEnd, 1, recentCount);
        recentStart[0] = s;
        recentEnd[0] = e;
        recentCount++;
    }

    private void forgetBelow(int seq) {
        int w = 0;
        for (int r = 0; r < recentCount; r++) {
            if (Seq.gt(recentEnd[r], seq)) {
                recentStart[w] = Seq.max(recentStart[r], seq);
                recentEnd[w] = recentEnd[r];
                w++;
            }
        }
        recentCount = w;
    }

    /** How many SACK blocks {@link #sackBlocks} has to report. */
    int sackBlockCount() { return recentCount; }

    /**
     * Writes up to {@code max} SACK blocks, most recent first, as (left, right) pairs into {@code out} from
     * index {@code from}; returns how many.
     */
    int sackBlocks(int[] out, int from, int max) {
        int n = Math.min(max, recentCount);
        for (int i = 0; i < n; i++) {
            out[from + 2 * i] = recentStart[i];
            out[from + 2 * i + 1] = recentEnd[i];
        }
        return n;
    }

    /**
     * Copies up to {@code len} in-order bytes to {@code dst} (a {@code byte[]} or a {@link MemorySegment}) and
     * consumes them. Stops before the urgent mark
     * (BSD's rule, so the reader can ask whether it is at the mark) and skips an urgent byte taken out of band.
     */
    int read(Object dst, long off, int len) {
        int done = 0;
        while (len > 0 && contiguous > 0) {
            int n = Math.min(len, contiguous);
            if (markValid) {
                if (readSeq == markSeq) {
                    markValid = false; // reading past the mark
                    if (oobPulled) {
                        consume(1);
                        oobPulled = false;
                        continue;
                    }
                } else if (Seq.in(markSeq, readSeq, readSeq + n)) {
                    n = markSeq - readSeq;
                    copyOut(dst, off, n);
                    consume(n);
                    return done + n;
                }
            }
            copyOut(dst, off, n);
            consume(n);
            off += n;
            len -= n;
            done += n;
        }
        return done;
    }

    private void copyOut(Object dst, long off, int n) {
        int cap = ring.length;
        int first = Math.min(n, cap - head);
        ByteRing.Copy.out(ring, head, dst, off, first);
        if (first < n) ByteRing.Copy.out(ring, 0, dst, off + first, n - first);
    }

    private void consume(int n) {
        contiguous -= n;
        readSeq += n;
        head += n;
        if (head >= ring.length) head -= ring.length;
    }

    /** Drops every in-order byte (shutdown of reading); returns how many. */
    int discard() {
        int n = contiguous;
        if (n > 0) consume(n);
        markValid = false;
        oobPulled = false;
        return n;
    }

    // ---- urgent data ----

    /** Whether the urgent byte is to be taken out of the stream (not SO_OOBINLINE). */
    void setPullOutOfBand(boolean pull) { this.pullOutOfBand = pull; }

    /**
     * Records an urgent pointer: {@code up} is the sequence number after the last urgent byte (RFC 9293
     * 3.8.5; RFC 6093 section 2). A pointer not beyond the current one is old news.
     * @return whether the mark moved
     */
    boolean urgent(int up) {
        int mark = up - 1;
        if (Seq.lt(mark, readSeq)) return false;
        if (markValid && Seq.leq(mark, markSeq)) return false;
        // One mark at a time, as in BSD: an older urgent byte the reader has not reached goes back into the stream.
        oobPulled = false;
        markSeq = mark;
        markValid = true;
        oobByte = -1;
        pullUrgentIfArrived();
        return true;
    }

    private void pullUrgentIfArrived() {
        if (markValid && pullOutOfBand && !oobPulled && Seq.in(markSeq, readSeq, end())) {
            int i = head + (markSeq - readSeq);
            if (i >= ring.length) i -= ring.length;
            oobByte = ring[i] & 0xff;
            oobPulled = true;
        }
    }

    /** Whether the next byte to read is at the urgent mark ({@code SIOCATMARK}). */
    boolean atMark() { return markValid && readSeq == markSeq; }

    /** The urgent byte taken out of band, or -1 if none has arrived (or it was read); clears it (MSG_OOB). */
    int takeOutOfBand() {
        int b = oobByte;
        oobByte = -1;
        return b;
    }

    /** The urgent byte without taking it, or -1. */
    int peekOutOfBand() { return oobByte; }

    // ---- sizing ----

    /**
     * Makes the ring hold the first {@code need} bytes from {@link #readSeq}: doubling from a small first array up
     * to the capacity, so that a connection that receives a request never allocates (and zeroes) the whole buffer.
     * Every byte held sits within the ring's length, so reads and reassembly index by {@code ring.length}.
     */
    private void ensureRing(int need) {
        if (need <= ring.length) return;
        long doubled = Math.max(ByteRing.INITIAL, 2L * ring.length);
        resize((int) Math.max(need, Math.min(capacity, doubled)));
    }

    /** Grows the ring (auto-tuning, or SO_RCVBUF raised); keeps every byte in place by sequence number. */
    /** Sets the capacity, smaller or larger, while nothing has been received (the ring is not allocated yet). */
    boolean setCapacityIfUnused(int newCapacity) {
        if (ring.length > 0) return false;
        capacity = newCapacity;
        return true;
    }

    void grow(int newCapacity) {
        if (newCapacity <= capacity) return;
        capacity = newCapacity;
        if (ring.length > 0) resize(newCapacity);
    }

    private void resize(int cap) {
        byte[] r = new byte[cap];
        int old = ring.length;
        if (old > 0) {
            int first = old - head;
            System.arraycopy(ring, head, r, 0, first);
            System.arraycopy(ring, 0, r, first, head);
        }
        ring = r;
        head = 0;
    }

    /** Lets the ring go (the connection closed). */
    void release() {
        ring = NONE;
        contiguous = 0;
        ranges = 0;
        recentCount = 0;
    }
}
