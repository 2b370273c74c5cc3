package org.kextnet.kernel.buf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * A packet buffer: one fixed-size slot of a {@link PacketPool} with headroom in front of the data, a
 * packet header (length, receiving interface, checksum state, flags) and typed tags. The kernel's
 * implementation of the KPI's {@link Mbuf}; kernel code uses this class directly, so its
 * calls stay monomorphic.
 *
 * <p>The data lives in {@code segment()} between {@link #offset()} and {@code offset() + length()}.
 * Headers are prepended by moving the offset back into the headroom ({@link #prepend}) and stripped by
 * moving it forward ({@link #adj}); nothing is copied. A packet may continue in further buffers linked
 * through {@link #next()}; the stack itself keeps packets contiguous and only the mbuf KPI builds chains.
 * The first buffer of a packet stays its head through prepend, adj and pullup.
 *
 * <p>An mbuf has exactly one owner at a time. Whoever owns it either passes it on or calls {@link #free()};
 * a second free is a bug and throws. {@link #generation()} changes each time the buffer is taken from the
 * pool, so code that lent a packet to an extension can tell whether it is still the same packet.
 */
public final class Packet implements Mbuf {
    /**
     * The process's whole address space as one segment, for the kernel's vector stages ({@code
     * EthernetLink}, {@code IpInput}): at {@link #headerBase()} they read and write headers of a packet whose
     * length they have just checked, as C does, without the bounds and liveness checks every access through
     * {@link #segment()} makes (those checks were ~14 % of the forwarding path's time). Nothing else may use
     * it: an access through it is only as safe as the checks its caller made. A pool's memory stays mapped
     * while any of its buffers is in use ({@link PacketPool#close()}).
     */
    private static final MemorySegment MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /**
     * Whether the vector stages may use {@link #MEMORY} ({@link #headers}). A {@code static final} switch, as Agrona
     * gates its bounds checks, so the JIT folds it away: on ({@code -Dkextnet.unchecked=true}) for the launcher
     * and the benchmarks, off by default, so that a bad offset in a test or a fuzz run fails with an exception
     * instead of reading or writing memory it does not own.
     */
    public static final boolean UNCHECKED = Boolean.getBoolean("kextnet.unchecked");

    /**
     * The memory the vector stages read this packet's headers through, at {@link #headerBase()}: the whole address
     * space when {@link #UNCHECKED}, else the buffer's own checked segment.
     */
    public MemorySegment headers() { return UNCHECKED ? MEMORY : segment; }

    /** Where the data starts in {@link #headers()}: its native address when unchecked, else {@link #offset()}. */
    public long headerBase() { return UNCHECKED ? base + offset : offset; }

    private final PacketPool pool;
    /** This buffer's place in its pool (the pool's free stack links buffers by index). */
    int poolIndex;
    private final MemorySegment segment;
    /** The native address of {@link #segment}. */
    private final long base;
    private final int capacity;
    private int offset;
    private int length;
    private boolean free = true;
    private int generation;
    Packet next;
    /** Link for packet queues (the mbuf's {@code nextpkt}); owned by whoever queues the packet. */
    public Packet nextPkt;

    // packet header
    /** The interface the packet arrived on (the kernel's own {@code net.Interface}), or null. */
    private Ifnet rcvif;
    private int csumFlags;
    /** TCP segmentation offload: the payload of each segment the device cuts this packet into, or 0 (xnu's tso_segsz). */
    private int tsoSegmentSize;
    private int flags;
    /** Enqueue time in nanoseconds, set by drivers and queues that delay packets. */
    public long timestamp;
    private PacketTags tags;

    Packet(PacketPool pool, MemorySegment segment) {
        this.pool = pool;
        this.segment = segment;
        this.base = segment.address();
        this.capacity = (int) segment.byteSize();
    }

    /** The whole slot; the packet is the range {@code [offset, offset + length)}. */
    @Override public MemorySegment segment() { return segment; }
    @Override public int offset() { return offset; }
    @Override public int length() { return length; }
    public int capacity() { return capacity; }
    /** Bytes free in front of the data. */
    @Override public int headroom() { return offset; }
    /** Bytes free after the data. */
    @Override public int tailroom() { return capacity - offset - length; }
    @Override public Packet next() { return next; }
    public PacketPool pool() { return pool; }
    /** Changes every time the buffer is taken from its pool. */
    public int generation() { return generation; }

    @Override public Packet nextPacket() { return nextPkt; }
    @Override public void setNextPacket(Mbuf m) { nextPkt = (Packet) m; }

    /** Total length of the packet over the whole chain (the pkthdr length). */
    @Override public int packetLength() {
        int n = length;
        for (Packet m = next; m != null; m = m.next) n += m.length;
        return n;
    }

    /** Resets the data window to {@code [offset, offset+length)}; used by drivers that fill the slot. */
    public Packet setData(int offset, int length) {
        if (offset < 0 || length < 0 || offset + length > capacity) throw new IndexOutOfBoundsException(offset + "+" + length);
        this.offset = offset;
        this.length = length;
        return this;
    }

    @Override public void setLength(int length) {
        if (length < 0 || offset + length > capacity) throw new IndexOutOfBoundsException("length " + length);
        this.length = length;
    }

    /** Grows the packet at the front by {@code n} bytes of headroom; returns false if there is not enough. */
    @Override public boolean prepend(int n) {
        if (n > offset || n < 0) return false;
        offset -= n;
        length += n;
        return true;
    }

    /**
     * Trims {@code n} bytes from the front (n &gt; 0) or, for n &lt; 0, from the back, across the chain, as
     * {@code mbuf_adj}. Emptied buffers stay in the chain with length 0.
     */
    @Override public void adj(int n) {
        if (n >= 0 && n <= length) { // the common case: strip a header in the first buffer
            offset += n;
            length -= n;
            return;
        }
        if (n >= 0) {
            for (Packet m = this; m != null && n > 0; m = m.next) {
                int k = Math.min(n, m.length);
                m.offset += k;
                m.length -= k;
                n -= k;
            }
            return;
        }
        int keep = Math.max(0, packetLength() + n);
        for (Packet m = this; m != null; m = m.next) {
            if (m.length > keep) m.length = keep;
            keep -= m.length;
        }
    }

    /** Grows the packet at the back by {@code n} bytes; returns false if there is no tailroom. */
    @Override public boolean append(int n) {
        if (n > tailroom() || n < 0) return false;
        length += n;
        return true;
    }

    @Override public int pullup(int len) {
        if (len <= length) return 0;
        if (len > packetLength()) return Errno.EINVAL;
        if (len > capacity) return Errno.EMSGSIZE;
        if (offset + len > capacity) {
            int to = capacity - len;
            MemorySegment.copy(segment, offset, segment, to, length);
            offset = to;
        }
        while (length < len) {
            Packet n = next;
            int k = Math.min(len - length, n.length);
            MemorySegment.copy(n.segment, n.offset, segment, offset + length, k);
            length += k;
            n.offset += k;
            n.length -= k;
            if (n.length == 0) {
                next = n.next;
                n.next = null;
                n.release();
            }
        }
        return 0;
    }

    // ---- packet header ----
    @Override public Ifnet rcvif() { return rcvif; }

    /** Sets the receiving interface: one of this kernel's interfaces (the caller, kernel code, knows it is). */
    @Override public void setRcvif(Ifnet ifp) { this.rcvif = ifp; }

    @Override public int csumFlags() { return csumFlags; }
    @Override public void setCsumFlags(int f) { this.csumFlags = f; }

    /**
     * Checksum flag of the kernel's own (not the KPI's): the transport checksum field holds only the pseudo-header's
     * sum (folded, not complemented) and the rest is still to be added, by a device that offloads it or by
     * {@code IpOutput} before a device that does not (Linux's CHECKSUM_PARTIAL, xnu's CSUM_DELAY_DATA). A packet so
     * marked also carries {@link #CSUM_DATA_VALID}: this host made it, nothing corrupted it.
     */
    public static final int CSUM_PARTIAL = 0x100;

    /**
     * For a TCP packet larger than the MTU that a device cuts into segments (TCP segmentation offload): the payload
     * bytes of each segment, every one but the last full; 0 for an ordinary packet.
     */
    public int tsoSegmentSize() { return tsoSegmentSize; }
    public void setTsoSegmentSize(int bytes) { this.tsoSegmentSize = bytes; }
    @Override public int flags() { return flags; }
    @Override public void setFlags(int f) { this.flags = f; }
    public void addFlags(int f) { this.flags |= f; }

    /** The packet's tags, created on first use and reused with the buffer afterwards. */
    public PacketTags tags() {
        PacketTags t = tags;
        if (t == null) tags = t = new PacketTags();
        return t;
    }

    /** True if the packet carries at least one tag; does not create the tag table. */
    public boolean hasTags() { return tags != null && tags.count() > 0; }

    /**
     * Forgets what this host knew about the packet (tags, flags, checksum state, receiving interface) when it
     * leaves for another host or comes back as a new packet: a wire carries bytes, and FreeBSD's icmp_reflect
     * deletes the tags of the request it turns into a reply. The data stays.
     */
    public void clearHostState() {
        if (tags != null) tags.clear();
        flags = 0;
        csumFlags = 0;
        tsoSegmentSize = 0;
        rcvif = null;
    }

    @Override public byte[] tagAllocate(int id, int type, int length) { return tags().allocate(id, type, length); }
    @Override public byte[] tagFind(int id, int type) { return tags == null ? null : tags.find(id, type); }
    @Override public int tagLength(int id, int type) { return tags == null ? -1 : tags.length(id, type); }
    @Override public boolean tagFree(int id, int type) { return tags != null && tags.free(id, type); }

    // ---- byte access relative to the data offset ----
    public byte get8(int at) { return segment.get(ValueLayout.JAVA_BYTE, offset + at); }
    @Override public int getU8(int at) { return segment.get(ValueLayout.JAVA_BYTE, offset + at) & 0xff; }
    @Override public int getU16(int at) { return segment.get(Bytes.U16, offset + at) & 0xffff; }
    @Override public int getInt(int at) { return segment.get(Bytes.U32, offset + at); }
    @Override public void put8(int at, int v) { segment.set(ValueLayout.JAVA_BYTE, offset + at, (byte) v); }
    @Override public void put16(int at, int v) { segment.set(Bytes.U16, offset + at, (short) v); }
    @Override public void putInt(int at, int v) { segment.set(Bytes.U32, offset + at, v); }

    /** Copies {@code len} bytes of packet data starting at {@code at} into {@code dst}, across the chain. */
    @Override public void copyData(int at, byte[] dst, int dstOff, int len) {
        Packet m = this;
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

    @Override public int copyBack(int at, byte[] src, int srcOff, int len) {
        if (at < 0 || len < 0 || srcOff < 0 || srcOff + len > src.length) return Errno.EINVAL;
        int missing = at + len - packetLength();
        if (missing > 0) {
            int r = grow(missing);
            if (r != 0) return r;
        }
        Packet m = this;
        while (len > 0) {
            if (at >= m.length) { at -= m.length; m = m.next; continue; }
            int k = Math.min(len, m.length - at);
            MemorySegment.copy(src, srcOff, m.segment, ValueLayout.JAVA_BYTE, m.offset + at, k);
            srcOff += k; len -= k; at = 0; m = m.next;
        }
        return 0;
    }

    /** Lengthens the packet by {@code n} zero bytes: the last buffer's tailroom first, then new buffers. */
    private int grow(int n) {
        Packet last = this;
        while (last.next != null) last = last.next;
        int k = Math.min(n, last.tailroom());
        last.segment.asSlice(last.offset + last.length, k).fill((byte) 0);
        last.length += k;
        n -= k;
        while (n > 0) {
            Packet b = pool.alloc();
            if (b == null) return Errno.ENOBUFS;
            b.offset = 0;
            k = Math.min(n, b.capacity);
            b.segment.asSlice(0, k).fill((byte) 0);
            b.length = k;
            last.next = b;
            last = b;
            n -= k;
        }
        return 0;
    }

    @Override public Packet dup() { return copy(0, packetLength()); }

    @Override public Packet copy(int at, int len) {
        if (at < 0 || len < 0 || at + len > packetLength()) return null;
        Packet head = allocLike(len);
        if (head == null) return null;
        Packet m = head;
        int done = 0;
        while (done < len) {
            int k = Math.min(len - done, m.capacity - m.offset);
            copyOut(at + done, m, k);
            m.length = k;
            done += k;
            if (done < len) {
                Packet n = pool.alloc();
                if (n == null) { head.free(); return null; }
                n.offset = 0;
                m.next = n;
                m = n;
            }
        }
        head.copyHeaderFrom(this);
        return head;
    }

    private void copyOut(int at, Packet dst, int k) {
        Packet m = this;
        while (at >= m.length) { at -= m.length; m = m.next; }
        int w = 0;
        while (w < k) {
            int n = Math.min(k - w, m.length - at);
            MemorySegment.copy(m.segment, m.offset + at, dst.segment, dst.offset + w, n);
            w += n; at = 0; m = m.next;
        }
    }

    @Override public Packet split(int at) {
        int total = packetLength();
        if (at < 0 || at > total) return null;
        Packet tail = copy(at, total - at);
        if (tail == null) return null;
        adj(at - total);
        Packet m = this; // drop buffers emptied by the trim (never the head)
        while (m.next != null) {
            if (m.next.length == 0) { Packet e = m.next; m.next = e.next; e.next = null; e.release(); }
            else m = m.next;
        }
        return tail;
    }

    private Packet allocLike(int len) {
        Buffers b = pool.buffers();
        Packet m = b != null ? b.alloc(len) : pool.alloc();
        if (m == null && b != null) m = b.alloc();
        return m;
    }

    private void copyHeaderFrom(Packet src) {
        rcvif = src.rcvif;
        csumFlags = src.csumFlags;
        tsoSegmentSize = src.tsoSegmentSize;
        flags = src.flags;
        if (src.hasTags()) tags().copyFrom(src.tags);
    }

    /** A byte array copy of this buffer's data (tests and diagnostics; allocates). */
    @Override public byte[] toByteArray() {
        byte[] b = new byte[packetLength()];
        copyData(0, b, 0, b.length);
        return b;
    }

    /** Frees this buffer and every buffer chained after it. */
    @Override public void free() {
        Packet m = this;
        while (m != null) {
            Packet n = m.next;
            m.release();
            m = n;
        }
    }

    void release() {
        clearForPool();
        pool.recycle(this);
    }

    /** Marks this one buffer free and drops its references; the caller gives it back to the pool. */
    void clearForPool() {
        if (free) throw new IllegalStateException("mbuf freed twice");
        free = true;
        next = null;
        nextPkt = null;
        rcvif = null;
        if (tags != null) tags.clear();
    }

    /** Prepares a buffer taken from the pool: empty data window after the default headroom. */
    void reset(int headroom) {
        free = false;
        generation++;
        offset = Math.min(headroom, capacity);
        length = 0;
        csumFlags = 0;
        tsoSegmentSize = 0;
        flags = 0;
        timestamp = 0;
    }

    @Override public boolean isFree() { return free; }

    @Override public String toString() {
        return "Packet[off=" + offset + ", len=" + length + ", cap=" + capacity + (next != null ? ", chained" : "") + "]";
    }
}
