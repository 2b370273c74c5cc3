package org.kextnet.kpi.net;

import java.net.InetAddress;

/** An address assigned to an interface, with its prefix length ({@code ifaddr_t}). */
public record IfnetAddress(InetAddress address, int prefixLength) {
    @Override public String toString() { return address.getHostAddress() + "/" + prefixLength; }
}
