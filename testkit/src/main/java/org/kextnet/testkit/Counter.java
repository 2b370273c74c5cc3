package org.kextnet.testkit;

/**
 * The kernel counters an extension's test reads with {@link EmbeddedKernel#stat}: what the extension heads did
 * with packets, what faults cost, and where packets went. (Each has the name of the kernel statistic it reads;
 * {@link EmbeddedKernel#statistics()} prints them all.)
 */
public enum Counter {
    // ---- what filters did ----
    /** Frames an interface filter dropped (returned an errno). */
    LINK_FILTERED,
    /** Frames an interface filter took ({@code EJUSTRETURN}). */
    LINK_FILTER_TAKEN,
    /** Packets an IP filter dropped. */
    IP_FILTERED,
    /** Packets an IP filter took. */
    IP_FILTER_TAKEN,
    /** Datagrams a socket filter dropped. */
    UDP_FILTERED,
    /** Datagrams a socket filter took. */
    UDP_FILTER_TAKEN,

    // ---- faults ----
    /** Exceptions thrown by extension callbacks (each contained). */
    NKE_FAULTS,
    /** Packets dropped because a filter threw (see {@link FaultPolicy}). */
    NKE_FAULT_DROPS,
    /** Registrations removed after repeated faults. */
    NKE_QUARANTINED,

    // ---- where packets went ----
    /** Frames for a protocol not attached to the interface. */
    LINK_NO_PROTOCOL,
    /** IPv4 packets received, before any check. */
    IP_TOTAL,
    /** IPv4 packets for this host, after reassembly. */
    IP_DELIVERED,
    /** IPv4 packets for a protocol nobody handles (ICMP protocol unreachable). */
    IP_NO_PROTO,
    /** IPv4 packets forwarded. */
    IP_FORWARDED,
    /** IPv4 packets sent from this host. */
    IP_LOCAL_OUT,
    /** UDP datagrams delivered to a socket. */
    UDP_DELIVERED,
    /** UDP datagrams dropped because no socket had the port. */
    UDP_NO_PORT,
    /** UDP datagrams dropped because the socket's queue was full. */
    UDP_FULL_SOCKET,
    /** UDP datagrams sent. */
    UDP_OUT,
    /** TCP connections established (including accepted ones). */
    TCP_CONNECTS,
    /** TCP connections accepted. */
    TCP_ACCEPTS,
    /** TCP connections closed. */
    TCP_CLOSED,
    /** TCP segments received in sequence. */
    TCP_RCV_DATA,
    /** TCP segments received out of order (held for reassembly). */
    TCP_RCV_OOO,
    /** TCP segments received that were wholly duplicates. */
    TCP_RCV_DUP,
    /** TCP data segments retransmitted. */
    TCP_SND_REXMIT,
    /** TCP retransmission timeouts. */
    TCP_RTO,
    /** SYNs refused by a socket filter's {@code connect_in}. */
    TCP_LISTEN_REFUSED,
    /** Packets dropped for lack of packet buffers. */
    NO_BUFFERS
}
