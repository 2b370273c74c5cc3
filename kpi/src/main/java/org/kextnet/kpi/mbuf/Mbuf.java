package org.kextnet.kpi.mbuf;

import java.lang.foreign.MemorySegment;

import org.kextnet.kpi.net.Ifnet;

/**
 * A packet buffer ({@code mbuf_t}). The data of this buffer lies in {@link #segment()} from {@link #offset()}
 * for {@link #length()} bytes; the packet may continue in the buffers linked by {@link #next()}. The first
 * buffer of a packet carries the packet header: {@link #packetLength()}, {@link #rcvif()},
 * {@link #csumFlags()}, {@link #flags()} and the tags.
 *
 * <p>Unlike xnu, the first buffer of a packet stays the same object through {@link #prepend},
 * {@link #pullup} and {@link #adj}: a filter never has to hand back a new head. To substitute a different
 * packet, steal this one ({@link org.kextnet.kpi.Errno#EJUSTRETURN}) and inject the substitute.
 *
 * <p>Offsets given to the byte accessors ({@link #getU16} and the others) are relative to {@link #offset()}
 * and must lie within this buffer's data. Accessors are not thread-safe: a packet has one owner at a time.
 */
public interface Mbuf {
    /** Checksum flag: the IP header checksum was checked ({@code MBUF_CSUM_DID_IP}). */
    int CSUM_IP_CHECKED = 1;
    /** Checksum flag: the IP header checksum is valid ({@code MBUF_CSUM_IP_GOOD}). */
    int CSUM_IP_VALID = 2;
    /** Checksum flag: the transport checksum is known valid ({@code MBUF_CSUM_DID_DATA}). */
    int CSUM_DATA_VALID = 4;

    /** Packet flag: received as a link-layer broadcast ({@code MBUF_BCAST}). */
    int F_BROADCAST = 1;
    /** Packet flag: received as a link-layer multicast ({@code MBUF_MCAST}). */
    int F_MULTICAST = 2;
    /** Packet flag: being forwarded, not locally originated. */
    int F_FORWARDED = 4;
    /** Packet flag: looped back by this host. */
    int F_LOOP = 8;

    // ---- data ----

    /** The whole memory of this buffer; the data is {@code [offset(), offset() + length())}. */
    MemorySegment segment();

    /** Where this buffer's data starts in {@link #segment()} ({@code mbuf_data}). */
    int offset();

    /** Bytes of data in this buffer ({@code mbuf_len}). */
    int length();

    /** Sets this buffer's data length ({@code mbuf_setlen}); it must fit in the buffer. */
    void setLength(int length);

    /** Free bytes in front of the data ({@code mbuf_leadingspace}). */
    int headroom();

    /** Free bytes after the data ({@code mbuf_trailingspace}). */
    int tailroom();

    /** The next buffer of this packet, or null ({@code mbuf_next}). */
    Mbuf next();

    /** The next packet of a packet list, or null ({@code mbuf_nextpkt}). Owned by whoever holds the list. */
    Mbuf nextPacket();

    /** Links the next packet of a packet list ({@code mbuf_setnextpkt}). */
    void setNextPacket(Mbuf m);

    /**
     * Grows the packet at the front by {@code n} bytes taken from the headroom ({@code mbuf_prepend}).
     * The new bytes are not initialised.
     * @return true, or false (nothing changed) if the headroom is smaller than {@code n}
     */
    boolean prepend(int n);

    /** Grows this buffer's data at the back by {@code n} bytes of tailroom; false (nothing changed) if too few. */
    boolean append(int n);

    /**
     * Trims {@code n} bytes from the front of the packet ({@code n > 0}) or {@code -n} bytes from its back
     * ({@code n < 0}), across the chain ({@code mbuf_adj}). Trimming more than the packet holds empties it.
     */
    void adj(int n);

    /**
     * Makes the first {@code len} bytes of the packet contiguous in this first buffer ({@code mbuf_pullup}),
     * moving data up from the following buffers.
     *
     * <p>Unlike xnu, a failed pull-up leaves the packet as it was, still owned by the caller.
     * @return 0, or {@link org.kextnet.kpi.Errno#EINVAL} if the packet is shorter than {@code len} or
     *         {@link org.kextnet.kpi.Errno#EMSGSIZE} if {@code len} does not fit in one buffer
     */
    int pullup(int len);

    // ---- packet header ----

    /** The length of the whole packet, over the chain ({@code mbuf_pkthdr_len}). */
    int packetLength();

    /** The interface the packet arrived on, or null for a locally built packet ({@code mbuf_pkthdr_rcvif}). */
    Ifnet rcvif();

    /** Sets the receiving interface ({@code mbuf_pkthdr_setrcvif}); required before injecting input. */
    void setRcvif(Ifnet ifp);

    /** Checksum flags ({@code CSUM_*}). */
    int csumFlags();

    void setCsumFlags(int flags);

    /** Packet flags ({@code F_*}). */
    int flags();

    void setFlags(int flags);

    // ---- byte access, relative to offset(), within this buffer ----

    int getU8(int at);

    /** A big-endian 16-bit value. */
    int getU16(int at);

    /** A big-endian 32-bit value. */
    int getInt(int at);

    void put8(int at, int value);

    /** Writes a big-endian 16-bit value. */
    void put16(int at, int value);

    /** Writes a big-endian 32-bit value. */
    void putInt(int at, int value);

    // ---- copies ----

    /**
     * Copies {@code len} bytes of the packet, starting {@code at} bytes into it, into {@code dst}, across the
     * chain ({@code mbuf_copydata}).
     * @throws IndexOutOfBoundsException if the packet is shorter than {@code at + len}
     */
    void copyData(int at, byte[] dst, int dstOff, int len);

    /**
     * Writes {@code len} bytes of {@code src} into the packet at {@code at} ({@code mbuf_copyback}),
     * growing the packet into the last buffer's tailroom and then into new buffers if it is too short.
     * @return 0, or {@link org.kextnet.kpi.Errno#ENOBUFS} (the packet may be partly written and grown)
     */
    int copyBack(int at, byte[] src, int srcOff, int len);

    /**
     * A full copy of the packet with its header and tags ({@code mbuf_dup}). The caller owns the copy.
     * @return the copy, or null when no buffers are free
     */
    Mbuf dup();

    /**
     * A copy of {@code len} bytes of the packet from {@code at}, with the packet header and tags
     * ({@code mbuf_copym}). The caller owns the copy.
     * @return the copy, or null when no buffers are free or the range is outside the packet
     */
    Mbuf copy(int at, int len);

    /**
     * Splits the packet at {@code at} ({@code mbuf_split}): this packet keeps the first {@code at} bytes,
     * and the rest becomes a new packet with a copy of the header and tags, which the caller owns.
     * @return the tail, or null (nothing changed) when {@code at} is outside the packet or no buffer is free
     */
    Mbuf split(int at);

    /** A copy of the packet's bytes (diagnostics and tests; allocates). */
    byte[] toByteArray();

    /** Frees this buffer and every buffer chained after it ({@code mbuf_freem}). */
    void free();

    /** Whether this buffer was freed (it belongs to the pool again). */
    boolean isFree();

    // ---- tags ({@code mbuf_tag_*}), on the first buffer of a packet ----

    /** Largest tag payload the kernel supports, in bytes. */
    int MAX_TAG_LENGTH = 64;

    /**
     * Adds the tag ({@code id}, {@code type}) with a zeroed payload of {@code length} bytes, or zeroes and
     * returns the payload of the existing one ({@code mbuf_tag_allocate}). Tags travel with the packet
     * through the stack and are copied by {@link #dup}, {@link #copy} and {@link #split}.
     *
     * @param id     from {@link MbufKpi#tagIdFind}
     * @param type   0..65535, chosen by the extension
     * @param length 1..{@link #MAX_TAG_LENGTH}
     * @return the payload array (its first {@code length} bytes are the tag; valid while the packet lives), or
     *         null for an invalid length or type ({@code EINVAL})
     */
    byte[] tagAllocate(int id, int type, int length);

    /** The payload of tag ({@code id}, {@code type}), or null ({@code mbuf_tag_find}). */
    byte[] tagFind(int id, int type);

    /** The payload length of tag ({@code id}, {@code type}), or -1 if the packet does not carry it. */
    int tagLength(int id, int type);

    /** Removes tag ({@code id}, {@code type}) ({@code mbuf_tag_free}); returns whether it was there. */
    boolean tagFree(int id, int type);
}
