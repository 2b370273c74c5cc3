package org.kextnet.kernel.link;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.IpInput;
import org.kextnet.kernel.net.DemuxTable;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.PreOutput;
import org.kextnet.kernel.net.ProtocolAttachment;
import org.kextnet.kpi.net.FrameInfo;

/**
 * Framing and demultiplexing for one interface family: strips the link header of received frames, finds
 * the attached protocol they belong to (the interface's {@link org.kextnet.kernel.net.DemuxTable}), runs the
 * interface filters and hands the packet to the protocol; builds the link header of outgoing packets.
 */
public interface LinkLayer {
    /** A received frame (data starts at the link header). Takes ownership. */
    void input(PacketContext ctx, Interface ifp, Packet m);

    /**
     * A batch of received frames of an interface that is up, inside the reader's read-side section. Takes
     * ownership of all {@code n} and clears their slots.
     *
     * <p>When the kernel's IPv4 is what this layer's demux gives IPv4 to and no interface filter watches
     * input, the frames {@link #stripIpv4} accepts go to IPv4 input as vectors (the vector path, see
     * docs/architecture.md); every other frame goes through {@link Interface#receive} on its own, after the
     * vector gathered before it, so that the batch keeps its order.
     */
    default void input(PacketContext ctx, Interface ifp, Packet[] batch, int n) {
        ProtocolAttachment inet = ifp.protocols().inet;
        if (inet == null || inet.kernelHandler() == null || !demuxesIpv4To(ifp.protocols(), inet) || ifp.filters().hasInput()) {
            ifp.receiveEach(ctx, batch, n);
            return;
        }
        IpInput ip = ctx.kernel().ipInput();
        Packet[] vector = ctx.ipv4Vector;
        int k = 0;
        for (int i = 0; i < n; i++) {
            Packet m = batch[i];
            batch[i] = null;
            if (stripIpv4(ifp, m)) {
                m.setRcvif(ifp);
                vector[k++] = m;
                if (k == vector.length) {
                    ip.input(ctx, ifp, vector, k);
                    k = 0;
                }
                continue;
            }
            if (k > 0) {
                ip.input(ctx, ifp, vector, k);
                k = 0;
            }
            ifp.receive(ctx, m);
        }
        if (k > 0) ip.input(ctx, ifp, vector, k);
    }

    /** Whether {@code demux} gives IPv4 packets to {@code inet}; false (the default) keeps batches off the vector path. */
    default boolean demuxesIpv4To(DemuxTable demux, ProtocolAttachment inet) { return false; }

    /**
     * The vector path's test of one received frame: true if it is an IPv4 packet for this host's link
     * address, with its link header now stripped; false leaves the frame as it was, for {@link Interface#receive}.
     */
    default boolean stripIpv4(Interface ifp, Packet m) { return false; }

    /** An IPv4 packet to frame and send to {@code nextHop}. Takes ownership. */
    void output(PacketContext ctx, Interface ifp, Packet m, int nextHop);

    /**
     * IPv4 packets {@code from} (inclusive) to {@code to} of {@code packets} to frame and send, each to its
     * next hop, as {@link #output(PacketContext, Interface, Packet, int)} one by one, each after passing
     * {@code pre} (null: none) just before it is framed. Takes ownership of them all and clears their slots.
     */
    default void output(PacketContext ctx, Interface ifp, Packet[] packets, int[] nextHops, int from, int to, PreOutput pre) {
        for (int i = from; i < to; i++) {
            Packet m = packets[i];
            packets[i] = null;
            if (pre == null || pre.pass(ctx, m)) output(ctx, ifp, m, nextHops[i]);
        }
    }

    /**
     * Prepends the link header an extension protocol's pre-output described ({@code ifnet_framer}); the
     * kernel's IPv4 frames in {@link #output} instead.
     * @return 0, or an errno after which the packet was freed
     */
    int frame(PacketContext ctx, Interface ifp, Packet m, FrameInfo frame);

    /** Bytes of link header this layer prepends. */
    int headerLength();

    static LinkLayer of(IfFamily family) {
        return switch (family) {
            case ETHERNET -> EthernetLink.INSTANCE;
            case TUN, LOOPBACK -> RawIpLink.INSTANCE;
        };
    }
}
