package org.kextnet.kernel.net;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;

/**
 * A driver that can take several finished frames in one go (one ring claim for the lot instead of one per
 * frame). {@link Interface} uses it for the vector path's runs of frames.
 */
public interface BatchDriver extends Driver {
    /**
     * Sends {@code frames[from..to)} in order, as far as the device has room: takes the first {@code n}
     * (the return value) and clears their slots; the frames from {@code from + n} on stay in their slots,
     * still the caller's.
     */
    int transmit(PacketContext ctx, Mbuf[] frames, int from, int to);
}
