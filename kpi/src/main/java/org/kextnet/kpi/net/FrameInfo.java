package org.kextnet.kpi.net;

/**
 * What a protocol's {@code preOutput} tells the interface's framer about one outgoing packet: the frame type
 * and the link-layer destination ({@code frame_type} and {@code link_layer_dest} of xnu's
 * {@code proto_media_preout}). The kernel reuses one object per thread: valid only during the call.
 */
public interface FrameInfo {
    /** The protocol-level destination the packet was sent to (for IPv4, the next hop address). */
    long destination();

    /** The frame type (on Ethernet, the EtherType). */
    int frameType();

    void setFrameType(int type);

    /** The link-layer destination (on Ethernet, the MAC address in the low 48 bits). */
    long linkDestination();

    void setLinkDestination(long address);
}
