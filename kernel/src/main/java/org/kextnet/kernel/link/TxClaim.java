package org.kextnet.kernel.link;

/**
 * Places a thread has claimed in a {@link FrameRing} for the frames it sends next, in order (see
 * {@link org.kextnet.kernel.net.BatchDriver}). One per thread ({@link #ofThisThread()}), open on at most one
 * ring at a time: every frame the thread sends to that ring while the claim is open, whichever packet
 * context it runs on (an extension's call from a callback runs on the thread's own), takes the claim's next
 * place.
 */
public final class TxClaim {
    private static final ThreadLocal<TxClaim> OF_THREAD = ThreadLocal.withInitial(TxClaim::new);

    private FrameRing ring;
    long next;
    long end;

    /** The calling thread's claim. */
    public static TxClaim ofThisThread() { return OF_THREAD.get(); }

    void open(FrameRing ring, long from, long to) {
        this.ring = ring;
        this.next = from;
        this.end = to;
    }

    void close() { ring = null; }

    /** Whether the claim is open on {@code ring} with a place left. */
    public boolean hasRoomIn(FrameRing ring) { return this.ring == ring && next < end; }

    /** Whether the claim is open (on any ring). */
    public boolean isOpen() { return ring != null; }

    /** Places left. */
    public int room() { return ring == null ? 0 : (int) (end - next); }
}
