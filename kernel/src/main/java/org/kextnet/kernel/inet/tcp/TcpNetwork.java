package org.kextnet.kernel.inet.tcp;

import org.kextnet.kernel.buf.Packet;

/**
 * What TCP needs from the network layer below it, and nothing more: the one contract between TCP and IPv4
 * (and IPv6 next). Addresses are 128-bit, passed as (high, low) longs, IPv4 in its IPv4-mapped form
 * ({@link TcpEndpoint}); the network layer that implements this converts. Packets come up the other way
 * through {@link TcpStack#input} and ICMP errors through {@link TcpStack#networkError}.
 *
 * <p>TCP calls these with no TCP lock held, so an implementation may deliver a packet to TCP on the calling
 * thread (loopback) without deadlock.
 */
public interface TcpNetwork {
    /** Network-layer errors about a segment TCP sent (ICMP, ICMPv6), independent of the IP version. */
    enum Error {
        /** Destination unreachable: network, host, or an administrative or source-route failure (soft errors). */
        NET_UNREACHABLE, HOST_UNREACHABLE, ADMIN_PROHIBITED,
        /** Destination unreachable: protocol or port, which RFC 1122 4.2.3.9 counts as hard. */
        PROTOCOL_UNREACHABLE, PORT_UNREACHABLE,
        /** Fragmentation needed and DF set (ICMP 3/4), or ICMPv6 packet too big: carries the next-hop MTU. */
        FRAGMENTATION_NEEDED,
        /** Time exceeded in transit, parameter problem, source quench: soft, noted only. */
        TIME_EXCEEDED, PARAMETER_PROBLEM
    }

    /**
     * Sends one segment. {@code segment}'s data is the TCP header and payload, with its checksum filled
     * unless {@link #checksumOffload} said otherwise; there is headroom in front for the network and link
     * headers. IPv4 sends it with DF set: TCP does path MTU discovery (RFC 1191) and never wants it fragmented;
     * a segment larger than the next hop's MTU is refused with EMSGSIZE or answered by ICMP fragmentation-needed.
     * Always takes ownership of {@code segment}.
     *
     * @return 0, or an errno: ENOBUFS, EHOSTUNREACH, ENETUNREACH, EMSGSIZE (TCP treats them all as a lost segment)
     */
    int output(Packet segment, long srcHigh, long srcLow, long dstHigh, long dstLow);

    /**
     * The pseudo-header's contribution to the checksum (RFC 9293 3.1; RFC 8200 8.1 for IPv6): a running
     * one's-complement sum, not folded and not complemented, for a segment of {@code tcpLength} bytes.
     */
    long pseudoHeaderSum(long srcHigh, long srcLow, long dstHigh, long dstLow, int tcpLength);

    /** The MTU of the route towards {@code dst}, or 0 if there is no route. */
    int routeMtu(long dstHigh, long dstLow);

    /**
     * Chooses the source address for a connection to {@code dst} and writes it to {@code out[0]} (high) and
     * {@code out[1]} (low). Called once per active open.
     * @return false if there is no route to {@code dst}
     */
    boolean sourceAddress(long dstHigh, long dstLow, long[] out);

    /** Whether the address is one of this host's (for bind). */
    boolean isLocalAddress(long high, long low);

    /**
     * Whether segments to {@code dst} need no TCP checksum on output (the link computes it or cannot corrupt,
     * as loopback and the memory wire): TCP then leaves the field zero. Received segments are checked
     * unless their buffer carries {@code CSUM_DATA_VALID}. Asked once per connection.
     */
    default boolean checksumOffload(long dstHigh, long dstLow) { return false; }

    /**
     * TCP segmentation offload towards {@code dst}: the largest network packet (header included) that the route's
     * device cuts into segments itself, or 0 if it does not. TCP then sends new data in super-segments of whole MSS,
     * marked with their segment size and a partial checksum ({@code Packet.tsoSegmentSize}, {@code CSUM_PARTIAL});
     * the network layer finishes them itself should they meet a device that does not. Asked once per connection.
     */
    default int segmentOffload(long dstHigh, long dstLow) { return 0; }
}
