package org.kextnet.kernel.inet;

import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.wire.Ipv4;

/**
 * A route: packets to {@code destination/prefixLength} leave through {@code ifp}, to {@code gateway}, or
 * straight to their destination when the gateway is 0 (a connected route).
 */
public record Route(int destination, int prefixLength, int gateway, Interface ifp, boolean connected) {
    public Route {
        if (prefixLength < 0 || prefixLength > 32) throw new IllegalArgumentException("prefix length " + prefixLength);
        destination &= Ipv4.mask(prefixLength);
    }

    public int mask() { return Ipv4.mask(prefixLength); }
    public boolean matches(int a) { return ((a ^ destination) & mask()) == 0; }
    /** The address a packet to {@code dst} is handed to on the link. */
    public int nextHop(int dst) { return gateway != 0 ? gateway : dst; }

    @Override public String toString() {
        String d = prefixLength == 0 ? "default" : Ipv4.format(destination) + "/" + prefixLength;
        return d + (gateway != 0 ? " via " + Ipv4.format(gateway) : "") + " dev " + ifp.name();
    }
}
