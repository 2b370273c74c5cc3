package org.kextnet.kernel.stat;

/**
 * Every counter of the stack, grouped by protocol as {@code netstat -s} prints them. Every packet the stack
 * drops is counted under exactly one reason here.
 */
public enum Stat {
    // link layer
    LINK_RUNT("link", "frames too short for their link header"),
    LINK_UNKNOWN_TYPE("link", "frames of unknown type or protocol family"),
    LINK_NOT_FOR_US("link", "frames for another station"),
    LINK_NO_PROTOCOL("link", "frames for a protocol not attached to the interface"),
    LINK_DOWN("link", "packets dropped because the interface is down"),
    LINK_TX_FULL("link", "packets dropped because the transmit queue was full"),
    LINK_WIRE_LOSS("link", "packets lost on purpose by an impaired memory wire"),
    NO_BUFFERS("link", "packets dropped for lack of packet buffers"),
    LINK_FILTERED("link", "frames dropped by an interface filter"),
    LINK_FILTER_TAKEN("link", "frames taken by an interface filter"),
    // arp
    ARP_RX_REQUEST("arp", "requests received"),
    ARP_RX_REPLY("arp", "replies received"),
    ARP_TX_REQUEST("arp", "requests sent"),
    ARP_TX_REPLY("arp", "replies sent"),
    ARP_TX_GRATUITOUS("arp", "gratuitous announcements sent"),
    ARP_MALFORMED("arp", "malformed packets dropped"),
    ARP_NOT_FOR_US("arp", "requests for other addresses ignored"),
    ARP_QUEUE_FULL("arp", "packets dropped waiting for resolution (queue full)"),
    ARP_UNRESOLVED("arp", "packets dropped because resolution timed out"),
    ARP_BOGUS_SENDER("arp", "packets from a sender off the interface's subnets or at a reserved address, not learned"),
    ARP_UNSOLICITED("arp", "replies nobody asked for, not learned"),
    ARP_CONFLICT("arp", "packets claiming one of our addresses from another link address (RFC 5227 conflicts)"),
    ARP_TABLE_FULL("arp", "neighbours not learned or resolved: the table was full"),
    ARP_COLLECTED("arp", "neighbour entries collected to make room"),
    // ip
    IP_TOTAL("ip", "total packets received"),
    IP_BAD_SUM("ip", "bad header checksums"),
    IP_TOO_SHORT("ip", "with size smaller than minimum"),
    IP_TOO_SMALL("ip", "with data size < data length"),
    IP_BAD_HLEN("ip", "with header length < data size"),
    IP_BAD_LEN("ip", "with data length < header length"),
    IP_BAD_VERSION("ip", "with incorrect version number"),
    IP_BAD_OPTIONS("ip", "with bad options"),
    IP_BAD_ADDRESS("ip", "with a bad source or destination address"),
    IP_FRAGMENTS("ip", "fragments received"),
    IP_FRAG_DROPPED("ip", "fragments dropped (duplicate, overlap or out of space)"),
    IP_FRAG_TIMEOUT("ip", "fragments dropped after timeout"),
    IP_REASSEMBLED("ip", "packets reassembled ok"),
    IP_DELIVERED("ip", "packets for this host"),
    IP_NO_PROTO("ip", "packets for unknown/unsupported protocol"),
    IP_FORWARDED("ip", "packets forwarded"),
    IP_CANT_FORWARD("ip", "packets not forwardable"),
    IP_TTL_EXCEEDED("ip", "packets dropped because their TTL ran out"),
    IP_NO_ROUTE("ip", "packets discarded due to no route"),
    IP_LOCAL_OUT("ip", "packets sent from this host"),
    IP_FRAGMENTED("ip", "output datagrams fragmented"),
    IP_FRAGMENTS_CREATED("ip", "fragments created"),
    IP_CANT_FRAGMENT("ip", "datagrams that can't be fragmented"),
    IP_OUT_NO_BUFFERS("ip", "output packets dropped due to no bufs"),
    IP_FILTERED("ip", "packets dropped by an IP filter"),
    IP_FILTER_TAKEN("ip", "packets taken by an IP filter"),
    // icmp
    ICMP_ERRORS("icmp", "calls to icmp_error"),
    ICMP_ERROR_ON_ICMP("icmp", "errors not generated because old message was icmp"),
    ICMP_ERROR_NOT_SENT("icmp", "errors not generated for a broadcast, fragment or bad source"),
    ICMP_RATE_LIMITED("icmp", "errors suppressed by rate limit"),
    ICMP_TOO_SHORT("icmp", "messages with bad length"),
    ICMP_BAD_SUM("icmp", "messages with bad checksum"),
    ICMP_IN_ECHO("icmp", "echo requests received"),
    ICMP_IN_ECHO_REPLY("icmp", "echo replies received"),
    ICMP_IN_UNREACH("icmp", "destination unreachable received"),
    ICMP_IN_TIME_EXCEEDED("icmp", "time exceeded received"),
    ICMP_IN_OTHER("icmp", "other messages received"),
    ICMP_OUT_ECHO("icmp", "echo requests sent"),
    ICMP_OUT_ECHO_REPLY("icmp", "echo replies sent"),
    ICMP_OUT_UNREACH("icmp", "destination unreachable sent"),
    ICMP_OUT_TIME_EXCEEDED("icmp", "time exceeded sent"),
    // udp
    UDP_IN("udp", "datagrams received"),
    UDP_HDR_DROPS("udp", "with incomplete header"),
    UDP_BAD_LEN("udp", "with bad data length field"),
    UDP_BAD_SUM("udp", "with bad checksum"),
    UDP_NO_PORT("udp", "dropped due to no socket"),
    UDP_NO_PORT_BCAST("udp", "broadcast/multicast datagrams dropped due to no socket"),
    UDP_FULL_SOCKET("udp", "dropped due to full socket buffers"),
    UDP_DELIVERED("udp", "delivered"),
    UDP_ECHO_REFUSED("udp", "echo requests refused because they came from a service port (a loop)"),
    UDP_OUT("udp", "datagrams output"),
    UDP_OUT_NO_BUFFERS("udp", "output datagrams dropped for lack of buffers"),
    UDP_FILTERED("udp", "datagrams dropped by a socket filter"),
    UDP_FILTER_TAKEN("udp", "datagrams taken by a socket filter"),
    // extensions
    NKE_FAULTS("nke", "exceptions thrown by extension callbacks (contained)"),
    NKE_FAULT_DROPS("nke", "packets dropped because a filter threw"),
    NKE_QUARANTINED("nke", "registrations removed after repeated faults"),
    NKE_OVER_BUDGET("nke", "calls into extensions that took longer than their soft budget"),
    NKE_STUCK("nke", "calls into extensions abandoned past their hard limit (the extension quarantined)"),
    NKE_REFUSED("nke", "calls refused to an extension that is stuck");

    private final String protocol;
    private final String description;

    Stat(String protocol, String description) {
        this.protocol = protocol;
        this.description = description;
    }

    public String protocol() { return protocol; }
    public String description() { return description; }

    private static final Stat[] ALL = values();
    public static Stat[] all() { return ALL; }
}
