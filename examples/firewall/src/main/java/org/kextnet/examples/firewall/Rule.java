package org.kextnet.examples.firewall;

/**
 * One rule as parsed: which packets it matches and what happens to them. A field that does not constrain is
 * its wildcard: direction {@link #BOTH}, interface null, protocol -1, network 0/0, port range -1.
 *
 * @param block     true to drop what it matches, false to let it pass
 * @param direction {@link #IN}, {@link #OUT} or {@link #BOTH}
 * @param iface     the receiving interface's name, or null for any
 * @param protocol  the IP protocol number, or -1 for any
 * @param srcNet    source network (its host bits zero), with {@code srcPrefix} bits of mask
 * @param dstNet    destination network, with {@code dstPrefix} bits of mask
 * @param srcPortLo first source port, or -1 for any (then {@code srcPortHi} is -1 too)
 * @param dstPortLo first destination port, or -1 for any
 */
record Rule(boolean block, int direction, String iface, int protocol, int srcNet, int srcPrefix, int srcPortLo, int srcPortHi,
            int dstNet, int dstPrefix, int dstPortLo, int dstPortHi) {
    static final int IN = 1, OUT = 2, BOTH = IN | OUT;

    static int mask(int prefix) { return prefix == 0 ? 0 : -1 << (32 - prefix); }

    /** The rule in the syntax it was read in, normalised: reading it again gives the same rule. */
    @Override public String toString() {
        StringBuilder b = new StringBuilder(block ? "block" : "allow");
        if (direction == IN) b.append(" in");
        if (direction == OUT) b.append(" out");
        if (iface != null) b.append(" on ").append(iface);
        if (protocol >= 0) b.append(" proto ").append(protocolName(protocol));
        boolean anySrc = srcPrefix == 0 && srcPortLo < 0, anyDst = dstPrefix == 0 && dstPortLo < 0;
        if (anySrc && anyDst) return b.append(" all").toString();
        if (!anySrc) hosts(b.append(" from "), srcNet, srcPrefix, srcPortLo, srcPortHi);
        if (!anyDst) hosts(b.append(" to "), dstNet, dstPrefix, dstPortLo, dstPortHi);
        return b.toString();
    }

    private static void hosts(StringBuilder b, int net, int prefix, int lo, int hi) {
        if (prefix == 0) b.append("any");
        else b.append(ip(net)).append(prefix == 32 ? "" : "/" + prefix);
        if (lo >= 0) b.append(" port ").append(lo).append(lo == hi ? "" : "-" + hi);
    }

    static String protocolName(int p) {
        return switch (p) {
            case 1 -> "icmp";
            case 6 -> "tcp";
            case 17 -> "udp";
            default -> Integer.toString(p);
        };
    }

    static String ip(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
    }
}
