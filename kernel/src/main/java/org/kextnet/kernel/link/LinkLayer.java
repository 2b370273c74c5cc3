package org.kextnet.kernel.link;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kpi.net.FrameInfo;

/**
 * Framing and demultiplexing for one interface family: strips the link header of received frames, finds
 * the attached protocol they belong to (the interface's {@link org.kextnet.kernel.net.DemuxTable}), runs the
 * interface filters and hands the packet to the protocol; builds the link header of outgoing packets.
 */
public interface LinkLayer {
    /** A received frame (data starts at the link header). Takes ownership. */
    void input(PacketContext ctx, Interface ifp, Mbuf m);

    /** An IPv4 packet to frame and send to {@code nextHop}. Takes ownership. */
    void output(PacketContext ctx, Interface ifp, Mbuf m, int nextHop);

    /**
     * Prepends the link header an extension protocol's pre-output described ({@code ifnet_framer}); the
     * kernel's IPv4 frames in {@link #output} instead.
     * @return 0, or an errno after which the packet was freed
     */
    int frame(PacketContext ctx, Interface ifp, Mbuf m, FrameInfo frame);

    /** Bytes of link header this layer prepends. */
    int headerLength();

    static LinkLayer of(IfFamily family) {
        return switch (family) {
            case ETHERNET -> EthernetLink.INSTANCE;
            case TUN, LOOPBACK -> RawIpLink.INSTANCE;
        };
    }
}
