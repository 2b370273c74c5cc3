package org.kextnet.kernel.link;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;

/**
 * Framing and demultiplexing for one interface family: strips the link header of received frames and
 * hands the packet to its protocol; builds the link header of outgoing packets.
 */
public interface LinkLayer {
    /** A received frame (data starts at the link header). Takes ownership. */
    void input(PacketContext ctx, Interface ifp, Mbuf m);

    /** An IPv4 packet to frame and send to {@code nextHop}. Takes ownership. */
    void output(PacketContext ctx, Interface ifp, Mbuf m, int nextHop);

    /** Bytes of link header this layer prepends. */
    int headerLength();

    static LinkLayer of(IfFamily family) {
        return switch (family) {
            case ETHERNET -> EthernetLink.INSTANCE;
            case TUN, LOOPBACK -> RawIpLink.INSTANCE;
        };
    }
}
