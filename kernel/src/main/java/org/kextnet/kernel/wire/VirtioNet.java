package org.kextnet.kernel.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The virtio-net header ({@code struct virtio_net_hdr}, Linux's {@code include/uapi/linux/virtio_net.h}) that a TUN
 * device opened with {@code IFF_VNET_HDR} puts in front of every packet, both ways: checksum and segmentation offload
 * state. Ten bytes:
 * <pre>
 *  0 flags        NEEDS_CSUM (the checksum at csum_start + csum_offset holds only the pseudo-header sum),
 *                 DATA_VALID (the checksum was verified)
 *  1 gso_type     NONE, TCPV4, TCPV6, UDP, UDP_L4, with the ECN bit (0x80)
 *  2 hdr_len      bytes of headers (a hint)
 *  4 gso_size     payload bytes of each segment the packet is to be cut into
 *  6 csum_start   where checksumming starts (the transport header)
 *  8 csum_offset  where, from csum_start, the checksum is stored
 * </pre>
 * The 16-bit fields are in the host's byte order: a TUN device without {@code TUNSETVNETLE/BE} uses the legacy
 * virtio order, which is the host's.
 */
public final class VirtioNet {
    private VirtioNet() {}

    public static final int HEADER_LENGTH = 10;
    public static final int FLAGS = 0, GSO_TYPE = 1, HDR_LEN = 2, GSO_SIZE = 4, CSUM_START = 6, CSUM_OFFSET = 8;
    public static final int F_NEEDS_CSUM = 1, F_DATA_VALID = 2, F_RSC_INFO = 4;
    public static final int GSO_NONE = 0, GSO_TCPV4 = 1, GSO_UDP = 3, GSO_TCPV6 = 4, GSO_UDP_L4 = 5, GSO_ECN = 0x80;

    private static final ValueLayout.OfShort H16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    public static int flags(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o + FLAGS) & 0xff; }
    public static int gsoType(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o + GSO_TYPE) & 0xff; }
    public static int hdrLen(MemorySegment s, long o) { return s.get(H16, o + HDR_LEN) & 0xffff; }
    public static int gsoSize(MemorySegment s, long o) { return s.get(H16, o + GSO_SIZE) & 0xffff; }
    public static int csumStart(MemorySegment s, long o) { return s.get(H16, o + CSUM_START) & 0xffff; }
    public static int csumOffset(MemorySegment s, long o) { return s.get(H16, o + CSUM_OFFSET) & 0xffff; }

    /** Writes a header. */
    public static void write(MemorySegment s, long o, int flags, int gsoType, int hdrLen, int gsoSize, int csumStart,
                             int csumOffset) {
        s.set(ValueLayout.JAVA_BYTE, o + FLAGS, (byte) flags);
        s.set(ValueLayout.JAVA_BYTE, o + GSO_TYPE, (byte) gsoType);
        s.set(H16, o + HDR_LEN, (short) hdrLen);
        s.set(H16, o + GSO_SIZE, (short) gsoSize);
        s.set(H16, o + CSUM_START, (short) csumStart);
        s.set(H16, o + CSUM_OFFSET, (short) csumOffset);
    }

    /** Writes the header of a packet with nothing offloaded: all zero. */
    public static void writeNone(MemorySegment s, long o) {
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, o, 0L);
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + 8, (short) 0);
    }

    /** What is wrong with a received header. */
    public enum Fault {
        /** Fewer bytes than a header. */
        TOO_SHORT,
        /** A flag this side did not negotiate (RSC_INFO) or that virtio does not define. */
        UNKNOWN_FLAGS,
        /** A segmentation type other than NONE, TCPV4 and TCPV6 (only TCP offloads are negotiated). */
        UNKNOWN_GSO_TYPE,
        /** A GSO packet with no segment size, no NEEDS_CSUM, or whose IP version is not its type's. */
        BAD_GSO,
        /** NEEDS_CSUM with a checksum field outside the packet. */
        BAD_CSUM_RANGE,
        /** A header length longer than the packet. */
        BAD_HDR_LEN
    }

    /**
     * Checks the header at {@code o} against the {@code packetLength} bytes of IP packet that follow it (at
     * {@code o + HEADER_LENGTH}). Returns null if it is usable, else what is wrong. Never throws for any content
     * within the header and {@code packetLength} bytes.
     */
    public static Fault check(MemorySegment s, long o, int packetLength) {
        if (packetLength < 0) return Fault.TOO_SHORT;
        int flags = flags(s, o);
        if ((flags & ~(F_NEEDS_CSUM | F_DATA_VALID)) != 0) return Fault.UNKNOWN_FLAGS;
        if ((flags & F_NEEDS_CSUM) != 0 && csumStart(s, o) + csumOffset(s, o) + 2 > packetLength) return Fault.BAD_CSUM_RANGE;
        if (hdrLen(s, o) > packetLength) return Fault.BAD_HDR_LEN;
        int gso = gsoType(s, o) & ~GSO_ECN;
        if (gso == GSO_NONE) return (gsoType(s, o) & GSO_ECN) != 0 ? Fault.UNKNOWN_GSO_TYPE : null;
        if (gso != GSO_TCPV4 && gso != GSO_TCPV6) return Fault.UNKNOWN_GSO_TYPE;
        if (gsoSize(s, o) == 0 || (flags & F_NEEDS_CSUM) == 0 || packetLength < 1) return Fault.BAD_GSO;
        int version = (s.get(ValueLayout.JAVA_BYTE, o + HEADER_LENGTH) & 0xff) >>> 4;
        if (version != (gso == GSO_TCPV4 ? 4 : 6)) return Fault.BAD_GSO;
        return null;
    }
}
