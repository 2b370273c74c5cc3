package org.kextnet.kernel.net;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;

/**
 * The packet-path side of a protocol the kernel itself attaches (its IPv4 and ARP): called with the
 * thread's {@link PacketContext}, so the kernel's own protocols pay no thread-local lookup and no guard.
 * Extension protocols go through the KPI's {@link org.kextnet.kpi.protocol.ProtocolHandler} instead.
 */
public interface KernelProtocolHandler {
    /** A frame demux gave to the protocol; data starts after the frame header at {@code frameHeader}. Takes ownership. */
    void input(PacketContext ctx, Interface ifp, Packet m, int frameHeader);

    /** Pre-output, framing and sending of a packet to {@code destination} (the IPv4 next hop). Takes ownership. */
    void output(PacketContext ctx, Interface ifp, Packet m, long destination);
}
