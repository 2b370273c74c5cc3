package org.kextnet.kernel.net;

import org.kextnet.kernel.wire.Ipv4;

/** An IPv4 address assigned to an interface, with its prefix length. */
public record InterfaceAddress(int address, int prefixLength) {
    public InterfaceAddress {
        if (prefixLength < 0 || prefixLength > 32) throw new IllegalArgumentException("prefix length " + prefixLength);
    }

    public int mask() { return Ipv4.mask(prefixLength); }
    public int network() { return address & mask(); }
    public int broadcast() { return prefixLength >= 31 ? Ipv4.BROADCAST : network() | ~mask(); }
    public boolean contains(int a) { return ((a ^ address) & mask()) == 0; }

    /** Parses "10.0.0.2/24"; a missing prefix means /32. */
    public static InterfaceAddress parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) return new InterfaceAddress(Ipv4.parse(text), 32);
        int prefix;
        try {
            prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad prefix length in " + text);
        }
        return new InterfaceAddress(Ipv4.parse(text.substring(0, slash)), prefix);
    }

    @Override public String toString() { return Ipv4.format(address) + "/" + prefixLength; }
}
