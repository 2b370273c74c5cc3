package org.kextnet.kernel.link;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.TxClaim;

/**
 * A bounded ring of frames with many producers and one consumer, whose producers can also claim a run of
 * consecutive places in one step and fill them later, one frame at a time ({@link #claim}).
 *
 * <p>That is what lets the vector path hand a run of frames to a driver with one atomic operation while
 * still giving each frame to the driver the moment its filters pass it: the consumer takes every frame
 * placed so far and stops at the first place not yet filled, so frames leave in claim order, and a frame
 * another thread sends meanwhile queues after the whole claim. Places a claim does not use (its filters
 * took or dropped packets) are skipped once it is {@linkplain #release released}.
 *
 * <p>The shape is JCTools' MPSC array queue (and Vyukov's bounded queues): producers advance a shared index
 * with a CAS, then publish into their place with a release store; the consumer owns its index, reads a place
 * with an acquire load and clears it before moving on. Producers cache a limit so that they read the
 * consumer's index only when the ring looks full.
 */
public final class FrameRing extends FrameRingIndexes {
    /** What an unused place of a released claim holds; the consumer steps over it. */
    private static final Object SKIP = new Object();
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);

    private final Object[] slots;
    private final int mask;

    /** A ring of at least {@code capacity} places (rounded up to a power of two). */
    public FrameRing(int capacity) {
        if (capacity < 2 || capacity > 1 << 30) throw new IllegalArgumentException("capacity " + capacity);
        int size = Integer.highestOneBit(capacity - 1) << 1;
        slots = new Object[size];
        mask = size - 1;
    }

    public int capacity() { return slots.length; }

    /** Adds a frame at the tail; false (and the caller still owns it) when the ring is full. */
    public boolean offer(Packet m) {
        long p;
        do {
            p = producerIndex;
            if (p >= producerLimit && p >= refreshLimit()) return false;
        } while (!casProducerIndex(p, p + 1));
        SLOT.setRelease(slots, (int) p & mask, m);
        return true;
    }

    /**
     * Opens {@code claim} (which must be closed) on up to {@code n} consecutive places at the tail; returns
     * how many, 0 when the ring is full (the claim then stays closed). The consumer stops at the claim's first
     * unfilled place until it is filled or the claim released, so a claim is held only while its owner works
     * through one run of frames.
     */
    public int claim(TxClaim claim, int n) {
        // Checked before anything is reserved: places reserved and never released would stop the consumer for good.
        if (claim.isOpen()) throw new IllegalStateException("a claim is already open");
        long p, k;
        do {
            p = producerIndex;
            long limit = producerLimit;
            if (p + n > limit) limit = refreshLimit();
            k = Math.min(n, limit - p);
            if (k <= 0) return 0;
        } while (!casProducerIndex(p, p + k));
        claim.open(this, p, p + k);
        return (int) k;
    }

    /** Fills the claim's next place with {@code m}; the claim must have one ({@link TxClaim#room()}). */
    public void put(TxClaim claim, Packet m) {
        SLOT.setRelease(slots, (int) claim.next++ & mask, m);
    }

    /**
     * Closes the claim: its unfilled places are skipped. A full fence follows, so that a consumer that parked
     * after finding a place of the claim empty is seen by the caller's check for a parked reader.
     */
    public void release(TxClaim claim) {
        for (long i = claim.next; i < claim.end; i++) SLOT.setRelease(slots, (int) i & mask, SKIP);
        claim.close();
        VarHandle.fullFence();
    }

    /** The next frame, or null if none is ready (empty, or the next place is claimed but not yet filled). Consumer only. */
    public Packet poll() {
        long c = consumerIndex;
        for (;;) {
            int i = (int) c & mask;
            Object e = SLOT.getAcquire(slots, i);
            if (e == null) return null;
            SLOT.setOpaque(slots, i, null);
            setConsumerIndex(++c);
            if (e != SKIP) return (Packet) e;
        }
    }

    /** The next frame without taking it, or null as for {@link #poll}. Consumer only. */
    public Packet peek() {
        long c = consumerIndex;
        for (;;) {
            int i = (int) c & mask;
            Object e = SLOT.getAcquire(slots, i);
            if (e != SKIP) return (Packet) e;
            SLOT.setOpaque(slots, i, null); // a skipped place: step over it for good
            setConsumerIndex(++c);
        }
    }

    /**
     * True when no place is taken: nothing queued and no claim open. (A null {@link #poll} with this false
     * means a producer is about to fill a place.)
     */
    public boolean isEmpty() { return producerIndex == consumerIndex; }

    /** Places taken (frames queued, claimed places, skips not yet stepped over). */
    public int size() {
        long c = consumerIndex, p = producerIndex;
        return (int) Math.max(0, Math.min(p - c, slots.length));
    }

    private long refreshLimit() {
        long limit = consumerIndex + slots.length;
        producerLimit = limit; // a racy cache: any value another producer wrote is a limit that held once
        return limit;
    }
}

/** The ring's indexes, each on a cache line of its own (a producer's CAS must not evict the consumer's index). */
abstract class FrameRingPad0 {
    long p00, p01, p02, p03, p04, p05, p06, p07;
    long p10, p11, p12, p13, p14, p15, p16, p17;
}

abstract class FrameRingProducer extends FrameRingPad0 {
    private static final VarHandle PRODUCER_INDEX;
    static {
        try {
            PRODUCER_INDEX = MethodHandles.lookup().findVarHandle(FrameRingProducer.class, "producerIndex", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    volatile long producerIndex;
    /** Producers' cached bound: indexes below it are known free. Written racily, read plainly. */
    long producerLimit;

    final boolean casProducerIndex(long expect, long update) {
        return PRODUCER_INDEX.compareAndSet(this, expect, update);
    }
}

abstract class FrameRingPad1 extends FrameRingProducer {
    long p00, p01, p02, p03, p04, p05, p06, p07;
    long p10, p11, p12, p13, p14, p15, p16, p17;
}

abstract class FrameRingIndexes extends FrameRingPad1 {
    private static final VarHandle CONSUMER_INDEX;
    static {
        try {
            CONSUMER_INDEX = MethodHandles.lookup().findVarHandle(FrameRingIndexes.class, "consumerIndex", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    /** Written by the consumer only (release stores), read by producers when the ring looks full. */
    volatile long consumerIndex;
    long p00, p01, p02, p03, p04, p05, p06, p07;
    long p10, p11, p12, p13, p14, p15, p16, p17;

    final void setConsumerIndex(long c) { CONSUMER_INDEX.setRelease(this, c); }
}
