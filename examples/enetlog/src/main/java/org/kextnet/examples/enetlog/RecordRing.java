package org.kextnet.examples.enetlog;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A bounded ring of fixed-size records of {@value #FIELDS} longs, for many producers and one consumer (Dmitry
 * Vyukov's bounded queue): packet threads add records without a lock and without allocating, and the formatting
 * callout takes them. Each slot carries a sequence number that says whose turn it is: {@code ticket} when free
 * for the producer holding that ticket, {@code ticket + 1} once that producer published it.
 *
 * <p>When the ring is full, {@link #claim} fails at once: the caller counts the record as lost rather than wait.
 */
final class RecordRing {
    static final int FIELDS = 8;

    private final long[] data;
    private final AtomicLongArray seq;
    private final int mask;
    private final AtomicLong tail = new AtomicLong();
    /** The consumer's position; only the consumer touches it (callouts run one at a time). */
    private long head;

    /** A ring of {@code capacity} records (a power of two). */
    RecordRing(int capacity) {
        if (Integer.bitCount(capacity) != 1) throw new IllegalArgumentException("capacity " + capacity + " is not a power of two");
        data = new long[capacity * FIELDS];
        seq = new AtomicLongArray(capacity);
        for (int i = 0; i < capacity; i++) seq.set(i, i);
        mask = capacity - 1;
    }

    /** Claims the next slot: returns its ticket, or -1 if the ring is full. Fill it with {@link #set}, then {@link #publish}. */
    long claim() {
        while (true) {
            long t = tail.get();
            long s = seq.get((int) (t & mask));
            if (s == t) {
                if (tail.compareAndSet(t, t + 1)) return t;
            } else if (s < t) {
                return -1; // the slot still holds a record from one lap ago
            }
            // else another producer took ticket t meanwhile: try the next
        }
    }

    void set(long ticket, int field, long value) {
        data[(int) (ticket & mask) * FIELDS + field] = value;
    }

    /** Hands the claimed slot to the consumer; the plain writes before it become visible with it. */
    void publish(long ticket) {
        seq.setRelease((int) (ticket & mask), ticket + 1);
    }

    /** The consumer: copies the oldest published record into {@code into} and frees its slot; false if none is ready. */
    boolean poll(long[] into) {
        int i = (int) (head & mask);
        if (seq.getAcquire(i) != head + 1) return false;
        System.arraycopy(data, i * FIELDS, into, 0, FIELDS);
        seq.setRelease(i, head + mask + 1); // free for the producer one lap on
        head++;
        return true;
    }
}
