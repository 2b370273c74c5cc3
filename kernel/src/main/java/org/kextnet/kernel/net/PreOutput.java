package org.kextnet.kernel.net;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;

/**
 * What the network layer does to each packet of an output vector just before the link layer frames it:
 * IPv4's output filters. Running it there, packet by packet, keeps xnu's per-packet order: a filter sees a
 * packet only after every packet before it has been handed to the driver, so a packet it takes and
 * re-injects later can never overtake them.
 */
@FunctionalInterface
public interface PreOutput {
    /** True to frame and send {@code m}; false if it is no longer the caller's (taken or dropped). */
    boolean pass(PacketContext ctx, Packet m);
}
