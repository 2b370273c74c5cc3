package org.kextnet.kernel.buf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.jctools.queues.MpmcArrayQueue;

/**
 * A pool of fixed-size packet buffers carved from one off-heap slab. Every {@link Mbuf} object is
 * created with its slot up front, so taking and returning buffers allocates nothing.
 *
 * <p>Free buffers sit in a lock-free bounded queue, so any thread may allocate and any thread may free.
 * An empty pool returns null: the caller drops the packet and counts it; nothing ever blocks.
 */
public final class PacketPool implements AutoCloseable {
    /** Bytes kept free in front of received or newly built data for link and network headers. */
    public static final int DEFAULT_HEADROOM = 128;

    private final String name;
    private final int bufferSize;
    private final int count;
    private final Arena arena;
    private final MpmcArrayQueue<Mbuf> free;
    private final int headroom;
    private volatile Buffers buffers;

    public PacketPool(String name, int count, int bufferSize) {
        this(name, count, bufferSize, DEFAULT_HEADROOM);
    }

    public PacketPool(String name, int count, int bufferSize, int headroom) {
        if (count < 1 || bufferSize < 64) throw new IllegalArgumentException("pool " + name + ": " + count + " x " + bufferSize);
        this.name = name;
        this.bufferSize = bufferSize;
        this.count = count;
        this.headroom = headroom;
        this.arena = Arena.ofShared();
        this.free = new MpmcArrayQueue<>(Math.max(2, count));
        MemorySegment slab = arena.allocate((long) count * bufferSize, 64);
        for (int i = 0; i < count; i++) {
            free.offer(new Mbuf(this, slab.asSlice((long) i * bufferSize, bufferSize)));
        }
    }

    /** Takes a buffer with an empty data window after the default headroom, or null if the pool is empty. */
    public Mbuf alloc() {
        Mbuf m = free.relaxedPoll();
        if (m == null) m = free.poll();
        if (m != null) m.reset(headroom);
        return m;
    }

    /** The set of pools this one belongs to, or null for a standalone pool. */
    Buffers buffers() { return buffers; }

    void setBuffers(Buffers b) { buffers = b; }

    void recycle(Mbuf m) {
        free.relaxedOffer(m);
    }

    public String name() { return name; }
    public int bufferSize() { return bufferSize; }
    public int headroom() { return headroom; }
    /** Largest packet a buffer of this pool holds after the default headroom. */
    public int maxData() { return bufferSize - headroom; }
    public int capacity() { return count; }
    /** Buffers currently free (approximate while other threads allocate). */
    public int available() { return free.size(); }
    public int inUse() { return count - free.size(); }

    /** Releases the slab. Only when no buffer is in use any more. */
    @Override public void close() { arena.close(); }
}
