package org.kextnet.kernel.net;

/**
 * Places a thread has claimed in a device's transmit queue for the frames it sends next, in order (see
 * {@link Layers.BatchDriver}). One per thread ({@link #forThisThread()}), open on at most one queue at a time:
 * every frame the thread sends to that queue while the claim is open, whichever packet context it runs on (an
 * extension's call from a callback, a batch a callback pushes in), takes the claim's next place. The queue is
 * known only by identity.
 *
 * <p>Only threads that send runs (drivers' readers, on the vector path) make one; other threads find none
 * ({@link #ofThisThread()} is null) and leave nothing behind.
 */
public final class TxClaim {
    private static final ThreadLocal<TxClaim> OF_THREAD = new ThreadLocal<>();

    private Object queue;
    /** The next place to fill and the end of the claim, as the queue numbers its places. */
    public long next;
    public long end;

    /** The calling thread's claim, made on first use: for a thread about to send a run. */
    public static TxClaim forThisThread() {
        TxClaim c = OF_THREAD.get();
        if (c == null) OF_THREAD.set(c = new TxClaim());
        return c;
    }

    /** The calling thread's claim, or null if it never sent a run. */
    public static TxClaim ofThisThread() { return OF_THREAD.get(); }

    /** Opens the claim on places {@code [from, to)} of {@code queue}. */
    public void open(Object queue, long from, long to) {
        this.queue = queue;
        this.next = from;
        this.end = to;
    }

    public void close() { queue = null; }

    /** Whether the claim is open on {@code queue} with a place left. */
    public boolean hasRoomIn(Object queue) { return this.queue == queue && next < end; }

    /** Whether the claim is open (on any queue). */
    public boolean isOpen() { return queue != null; }

    /** Places left. */
    public int room() { return queue == null ? 0 : (int) (end - next); }
}
