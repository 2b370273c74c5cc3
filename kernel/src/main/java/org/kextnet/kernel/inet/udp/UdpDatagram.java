package org.kextnet.kernel.inet.udp;

import org.kextnet.kernel.wire.Ipv4;

/** What a receive returns besides the data: the sender and how many bytes were copied. */
public record UdpDatagram(int sourceAddress, int sourcePort, int length, boolean truncated) {
    @Override public String toString() {
        return length + " bytes from " + Ipv4.format(sourceAddress) + ":" + sourcePort + (truncated ? " (truncated)" : "");
    }
}
