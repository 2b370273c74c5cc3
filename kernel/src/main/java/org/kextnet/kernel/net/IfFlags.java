package org.kextnet.kernel.net;

/** Interface flags, as {@code IFF_*}. */
public final class IfFlags {
    private IfFlags() {}
    public static final int UP = 0x1, BROADCAST = 0x2, LOOPBACK = 0x8, POINTOPOINT = 0x10, RUNNING = 0x40,
            NOARP = 0x80, PROMISC = 0x100, MULTICAST = 0x8000;

    public static String format(int flags) {
        StringBuilder b = new StringBuilder();
        add(b, flags, UP, "UP"); add(b, flags, BROADCAST, "BROADCAST"); add(b, flags, LOOPBACK, "LOOPBACK");
        add(b, flags, POINTOPOINT, "POINTOPOINT"); add(b, flags, RUNNING, "RUNNING"); add(b, flags, NOARP, "NOARP");
        add(b, flags, PROMISC, "PROMISC"); add(b, flags, MULTICAST, "MULTICAST");
        return "<" + b + ">";
    }

    private static void add(StringBuilder b, int flags, int f, String name) {
        if ((flags & f) != 0) { if (b.length() > 0) b.append(','); b.append(name); }
    }
}
