package org.kextnet.kpi.protocol;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.Ifnet;

/**
 * A protocol attached to one interface ({@code ifnet_attach_proto_param}): its callbacks. {@link #input}
 * and {@link #preOutput} are required.
 */
public interface ProtocolHandler {
    /**
     * A frame demux found to be this protocol's, after the interface filters ({@code proto_media_input}).
     * {@code m} starts after the frame header, which lies in {@code m.segment()} from {@code frameHeader}
     * to {@code m.offset()}. Runs on the interface's packet thread; must not block.
     *
     * <p>Takes ownership when it returns 0 or EJUSTRETURN; on another errno the kernel frees the frame.
     * @return 0 (passed to the protocol), or an errno
     */
    int input(Ifnet ifp, int protocolFamily, Mbuf m, int frameHeader);

    /**
     * Prepares a packet for framing ({@code proto_media_preout}): fill in the frame type and the link-layer
     * destination, e.g. from ARP. Runs on the sending thread.
     *
     * <p>Does not take ownership unless it returns EJUSTRETURN (e.g. it queued the packet until address
     * resolution completes, and sends it later with {@link Ifnet#outputRaw}).
     * @return 0 to frame and send, EJUSTRETURN if it took the packet, another errno to drop it
     */
    int preOutput(Ifnet ifp, int protocolFamily, Mbuf m, FrameInfo frame);

    /** An event about the interface ({@code proto_media_event}). Optional; default: nothing. */
    default void event(Ifnet ifp, int protocolFamily, KernelEvent event) {}

    /**
     * An ioctl for this protocol on the interface ({@code proto_media_ioctl}), after the interface filters.
     * Optional; default: {@link Errno#EOPNOTSUPP} (not mine).
     * @return EOPNOTSUPP not handled; 0 handled; EJUSTRETURN handled, stop; another errno: error
     */
    default int ioctl(Ifnet ifp, int protocolFamily, long command, Object argument) { return Errno.EOPNOTSUPP; }

    /**
     * The last call ({@code proto_media_detached}), once, after the protocol was detached from the interface
     * and every call inside it returned. Optional; default: nothing.
     */
    default void detached(Ifnet ifp, int protocolFamily) {}
}
