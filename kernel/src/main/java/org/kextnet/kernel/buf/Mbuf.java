package org.kextnet.kernel.buf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.kextnet.kernel.net.Interface;

/**
 * A packet buffer: one fixed-size slot of a {@link PacketPool} with headroom in front of the data, a
 * packet header (length, receiving interface, checksum state, flags) and typed tags.
 *
 * <p>The data lives in {@code segment()} between {@link #offset()} and {@code offset() + length()}.
 * Headers are prepended by moving the offset back into the headroom ({@link #prepend}) and stripped by
 * moving it forward ({@link #adj}); nothing is copied. A packet may continue in further buffers linked
 * through {@link #next()}; the stack itself keeps packets contiguous and only the mbuf KPI builds chains.
 *
 * <p>An mbuf has exactly one owner at a time. Whoever owns it either passes it on or calls {@link #free()};
 * a second free is a bug and throws.
 */
public final class Mbuf {
    /** Big-endian, unaligned accessors: wire order. */
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** Checksum state flags of the packet header ({@link #csumFlags()}). */
    public static final int CSUM_IP_CHECKED = 1, CSUM_IP_VALID = 2, CSUM_DATA_VALID = 4;
    /** Packet flags ({@link #flags()}). */
    public static final int F_BROADCAST = 1, F_MULTICAST = 2, F_FORWARDED = 4, F_LOOP = 8;

    private final PacketPool pool;
    private final MemorySegment segment;
    private final int capacity;
    private int offset;
    private int length;
    private boolean free = true;
    Mbuf next;
    /** Link for packet queues (the mbuf's {@code nextpkt}); owned by whoever queues the packet. */
    public Mbuf nextPkt;

    // packet header
    private Interface rcvif;
    private int csumFlags;
    private int flags;
    /** Free-form per-layer scratch: the layer that owns the packet may use them (e.g. the next hop). */
    public int scratch0, scratch1;
    /** Enqueue time in nanoseconds, set by drivers and queues that delay packets. */
    public long timestamp;
    private MbufTags tags;

    Mbuf(PacketPool pool, MemorySegment segment) {
        this.pool = pool;
        this.segment = segment;
        this.capacity = (int) segment.byteSize();
    }

    /** The whole slot; the packet is the range {@code [offset, offset + length)}. */
    public MemorySegment segment() { return segment; }
    public int offset() { return offset; }
    public int length() { return length; }
    public int capacity() { return capacity; }
    /** Bytes free in front of the data. */
    public int headroom() { return offset; }
    /** Bytes free after the data. */
    public int tailroom() { return capacity - offset - length; }
    public Mbuf next() { return next; }
    public PacketPool pool() { return pool; }

    /** Total length of the packet over the whole chain (the pkthdr length). */
    public int packetLength() {
        int n = length;
        for (Mbuf m = next; m != null; m = m.next) n += m.length;
        return n;
    }

    /** Resets the data window to {@code [offset, offset+length)}; used by drivers that fill the slot. */
    public Mbuf setData(int offset, int length) {
        if (offset < 0 || length < 0 || offset + length > capacity) throw new IndexOutOfBoundsException(offset + "+" + length);
        this.offset = offset;
        this.length = length;
        return this;
    }

    public void setLength(int length) {
        if (length < 0 || offset + length > capacity) throw new IndexOutOfBoundsException("length " + length);
        this.length = length;
    }

    /** Grows the packet at the front by {@code n} bytes of headroom; returns false if there is not enough. */
    public boolean prepend(int n) {
        if (n > offset) return false;
        offset -= n;
        length += n;
        return true;
    }

    /**
     * Trims {@code n} bytes from the front (n &gt; 0) or, for n &lt; 0, from the back, as {@code mbuf_adj}.
     * Within this buffer only.
     */
    public void adj(int n) {
        if (n >= 0) {
            if (n > length) throw new IndexOutOfBoundsException("adj " + n + " > " + length);
            offset += n;
            length -= n;
        } else {
            if (-n > length) throw new IndexOutOfBoundsException("adj " + n + " > " + length);
            length += n;
        }
    }

    /** Grows the packet at the back by {@code n} bytes; returns false if there is no tailroom. */
    public boolean append(int n) {
        if (n > tailroom()) return false;
        length += n;
        return true;
    }

    // ---- packet header ----
    public Interface rcvif() { return rcvif; }
    public void setRcvif(Interface ifp) { this.rcvif = ifp; }
    public int csumFlags() { return csumFlags; }
    public void setCsumFlags(int f) { this.csumFlags = f; }
    public int flags() { return flags; }
    public void setFlags(int f) { this.flags = f; }
    public void addFlags(int f) { this.flags |= f; }

    /** The packet's tags, created on first use and reused with the buffer afterwards. */
    public MbufTags tags() {
        MbufTags t = tags;
        if (t == null) tags = t = new MbufTags();
        return t;
    }

    /** True if the packet carries at least one tag; does not create the tag table. */
    public boolean hasTags() { return tags != null && tags.count() > 0; }

    // ---- byte access relative to the data offset ----
    public byte get8(int at) { return segment.get(ValueLayout.JAVA_BYTE, offset + at); }
    public int getU8(int at) { return segment.get(ValueLayout.JAVA_BYTE, offset + at) & 0xff; }
    public int getU16(int at) { return segment.get(U16, offset + at) & 0xffff; }
    public int getInt(int at) { return segment.get(U32, offset + at); }
    public void put8(int at, int v) { segment.set(ValueLayout.JAVA_BYTE, offset + at, (byte) v); }
    public void put16(int at, int v) { segment.set(U16, offset + at, (short) v); }
    public void putInt(int at, int v) { segment.set(U32, offset + at, v); }

    /** Copies {@code len} bytes of packet data starting at {@code at} into {@code dst}, across the chain. */
    public void copyData(int at, byte[] dst, int dstOff, int len) {
        Mbuf m = this;
        while (m != null && at >= m.length) { at -= m.length; m = m.next; }
        while (len > 0) {
            if (m == null) throw new IndexOutOfBoundsException("copyData past end of packet");
            int n = Math.min(len, m.length - at);
            MemorySegment.copy(m.segment, ValueLayout.JAVA_BYTE, m.offset + at, dst, dstOff, n);
            dstOff += n; len -= n; at = 0; m = m.next;
        }
    }

    /** Copies the data (from {@code at}, this buffer only) into a byte buffer; returns bytes copied. */
    public int copyTo(int at, ByteBuffer dst) {
        int n = Math.min(dst.remaining(), length - at);
        MemorySegment.copy(segment, offset + at, MemorySegment.ofBuffer(dst), 0, n);
        dst.position(dst.position() + n);
        return n;
    }

    /** Copies bytes into the packet at {@code at}; the range must already be inside the data. */
    public void copyFrom(int at, byte[] src, int srcOff, int len) {
        if (at < 0 || at + len > length) throw new IndexOutOfBoundsException();
        MemorySegment.copy(src, srcOff, segment, ValueLayout.JAVA_BYTE, offset + at, len);
    }

    /** A byte array copy of this buffer's data (tests and diagnostics; allocates). */
    public byte[] toByteArray() {
        byte[] b = new byte[packetLength()];
        copyData(0, b, 0, b.length);
        return b;
    }

    /** Frees this buffer and every buffer chained after it. */
    public void free() {
        Mbuf m = this;
        while (m != null) {
            Mbuf n = m.next;
            m.release();
            m = n;
        }
    }

    void release() {
        if (free) throw new IllegalStateException("mbuf freed twice");
        free = true;
        next = null;
        nextPkt = null;
        rcvif = null;
        if (tags != null) tags.clear();
        pool.recycle(this);
    }

    /** Prepares a buffer taken from the pool: empty data window after the default headroom. */
    void reset(int headroom) {
        free = false;
        offset = Math.min(headroom, capacity);
        length = 0;
        csumFlags = 0;
        flags = 0;
        scratch0 = scratch1 = 0;
        timestamp = 0;
    }

    public boolean isFree() { return free; }

    @Override public String toString() {
        return "Mbuf[off=" + offset + ", len=" + length + ", cap=" + capacity + (next != null ? ", chained" : "") + "]";
    }
}
