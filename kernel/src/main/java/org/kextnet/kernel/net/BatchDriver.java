package org.kextnet.kernel.net;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.TxClaim;

/**
 * A driver whose transmit queue a thread can claim places in for a run of frames, with one atomic operation
 * for the run instead of one per frame. The vector path claims a place for each packet of a run, then hands
 * each frame over the moment it is framed and its filters have passed it; the device can send a frame as
 * soon as it and those before it are placed.
 *
 * <p>A claim is the thread's ({@link TxClaim#ofThisThread()}). While it is open, frames the same thread sends
 * through {@link #transmit(PacketContext, Packet)} (a filter re-injecting a packet from its callback) take the
 * claim's next places too, so that they leave
 * in the order the one-packet path would send them. Frames of other threads queue after the claim.
 */
public interface BatchDriver extends Driver {
    /**
     * Opens {@code claim} on up to {@code n} places of this device's queue; returns how many, 0 when the
     * queue is full (and then no claim is open). Must be {@linkplain #release released}, in a {@code finally}:
     * the device waits at the claim's first unused place.
     */
    int claim(TxClaim claim, int n);

    /**
     * Sends one frame into the open claim's next place; the caller has checked there is one
     * ({@code claim.room() > 0}). Takes ownership; true if sent (a lossy device may still lose it).
     */
    boolean transmitClaimed(PacketContext ctx, TxClaim claim, Packet m);

    /** Closes the claim: the places it did not use are skipped. */
    void release(TxClaim claim);
}
