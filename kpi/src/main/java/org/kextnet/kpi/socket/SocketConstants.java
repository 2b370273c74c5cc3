package org.kextnet.kpi.socket;

/** Socket types, levels and options, with xnu's values. */
public final class SocketConstants {
    private SocketConstants() {}

    public static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3;
    public static final int IPPROTO_IP = 0, IPPROTO_ICMP = 1, IPPROTO_TCP = 6, IPPROTO_UDP = 17;
    /** Protocols of the system domain. */
    public static final int SYSPROTO_EVENT = 1, SYSPROTO_CONTROL = 2;
    /** The socket level of options. */
    public static final int SOL_SOCKET = 0xffff;
    /** Attach a programmatic socket filter by its handle ({@code SO_NKE}); the value is the 4-byte handle. */
    public static final int SO_NKE = 0x1021;
    public static final int SO_SNDBUF = 0x1001, SO_RCVBUF = 0x1002, SO_REUSEADDR = 0x0004, SO_BROADCAST = 0x0020;
    /** Keepalive probes ({@code SO_KEEPALIVE}), urgent data inline ({@code SO_OOBINLINE}). */
    public static final int SO_KEEPALIVE = 0x0008, SO_OOBINLINE = 0x0100;
    /** Linger on close: an 8-byte value, on/off then seconds, as two big-endian ints ({@code struct linger}). */
    public static final int SO_LINGER = 0x0080;
    /** The pending error, read and cleared ({@code SO_ERROR}). */
    public static final int SO_ERROR = 0x1007;
    /** Options of level {@link #IPPROTO_TCP}, with xnu's values. */
    public static final int TCP_NODELAY = 0x01, TCP_MAXSEG = 0x02, TCP_KEEPALIVE = 0x10, TCP_KEEPINTVL = 0x101,
            TCP_KEEPCNT = 0x102;
    /** The congestion control of a TCP socket by name ("cubic", "newreno"): kextnet's, as Linux's TCP_CONGESTION. */
    public static final int TCP_CONGESTION = 0x10000;
    /** Shutdown directions. */
    public static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
}
