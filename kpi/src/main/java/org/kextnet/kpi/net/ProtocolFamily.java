package org.kextnet.kpi.net;

/** Protocol families ({@code protocol_family_t}, the {@code PF_*} values of xnu's {@code <sys/socket.h>}). */
public final class ProtocolFamily {
    private ProtocolFamily() {}

    /** No family: "all protocols" in an interface filter's selector; "unknown" after demux. */
    public static final int PF_UNSPEC = 0;
    public static final int PF_INET = 2;
    public static final int PF_NDRV = 27;
    public static final int PF_INET6 = 30;
    /** The system domain: kernel control and kernel event sockets. */
    public static final int PF_SYSTEM = 32;
    /** The largest family number the kernel accepts for extension protocols. */
    public static final int PF_MAX = 255;

    /** A short name for status listings ("inet", "inet6", or the number). */
    public static String name(int pf) {
        return switch (pf) {
            case PF_UNSPEC -> "any";
            case PF_INET -> "inet";
            case PF_INET6 -> "inet6";
            case PF_NDRV -> "ndrv";
            case PF_SYSTEM -> "system";
            default -> "pf" + pf;
        };
    }
}
