package org.kextnet.kernel.inet.udp;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.PacketContext;

/**
 * A kernel socket's receive callback (xnu's socket upcall): called on the input thread with each
 * datagram instead of queueing it, for in-kernel services that answer in place.
 */
@FunctionalInterface
public interface UdpUpcall {
    /**
     * A datagram for the socket. {@code m} starts at the IP header; {@code hl} is its length, so the UDP
     * header is at {@code hl}. Takes ownership.
     */
    void datagram(PacketContext ctx, UdpSocket socket, Packet m, int hl);
}
