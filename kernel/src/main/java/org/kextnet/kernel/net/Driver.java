package org.kextnet.kernel.net;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;

/**
 * The device below an interface: it transmits finished frames and feeds received ones to
 * {@link Interface#input}. Loopback, memory wires, TUN and TAP implement it.
 */
public interface Driver {
    /**
     * Sends one frame. Takes ownership of {@code m} whatever happens: a driver that cannot send frees it
     * and returns false, and the caller counts the drop.
     */
    boolean transmit(PacketContext ctx, Packet m);

    /** Starts receiving for {@code ifp} (reader threads and the like). */
    default void start(Interface ifp) {}

    /** Stops receiving and releases the device. Idempotent. */
    default void stop() {}

    /** A short description for {@code ifconfig}. */
    default String describe() { return getClass().getSimpleName(); }
}
