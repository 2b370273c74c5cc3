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
    /** Shutdown directions. */
    public static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
}
