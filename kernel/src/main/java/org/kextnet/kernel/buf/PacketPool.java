package org.kextnet.kernel.buf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A pool of fixed-size packet buffers carved from one off-heap slab. Every {@link Packet} object is
 * created with its slot up front, so taking and returning buffers allocates nothing.
 *
 * <p>Free buffers sit on a lock-free stack, so any thread may allocate and any thread may free. It is a
 * stack, not a queue, for locality: the buffer freed last (its memory and its {@code Packet} still in the
 * cache) is the next one taken. A queue hands out every buffer of the pool in turn, and with the
 * standard 16384 buffers (32 MiB) each packet then starts on a cold buffer: 40-60 ns more per forwarded
 * packet in the forwarding benchmark. The stack is a Treiber stack over buffer indexes with a version in
 * the head word against ABA; it allocates nothing.
 *
 * <p>A thread that allocates and frees many buffers (a driver's reader) takes them through a
 * {@link BufferCache}, which moves them to and from this stack in bulk, one CAS per batch.
 *
 * <p>An empty pool returns null: the caller drops the packet and counts it; nothing ever blocks.
 */
public final class PacketPool implements AutoCloseable {
    /** Bytes kept free in front of received or newly built data for link and network headers. */
    public static final int DEFAULT_HEADROOM = 128;

    private final String name;
    private final int bufferSize;
    private final int count;
    private final Arena arena;
    private final int headroom;
    private volatile Buffers buffers;
    private final Packet[] slots;
    /** The free stack's links: {@code next[i]} is the index below buffer i, or -1. */
    private final int[] next;
    /** Per-thread caches of free buffers taken from this pool (their buffers are free, not in use). */
    private final CopyOnWriteArrayList<BufferCache> caches = new CopyOnWriteArrayList<>();
    /** The top of the free stack: version (high 32 bits) and index + 1 (low 32 bits, 0 when empty). */
    @SuppressWarnings("unused") private volatile long head;
    private static final VarHandle HEAD;
    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(PacketPool.class, "head", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

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
        this.slots = new Packet[count];
        this.next = new int[count];
        MemorySegment slab = arena.allocate((long) count * bufferSize, 64);
        for (int i = 0; i < count; i++) {
            Packet m = new Packet(this, slab.asSlice((long) i * bufferSize, bufferSize));
            m.poolIndex = i;
            slots[i] = m;
            next[i] = i - 1; // buffer 0 at the bottom
        }
        head = count; // version 0, buffer count - 1 on top
    }

    /** Takes a buffer with an empty data window after the default headroom, or null if the pool is empty. */
    public Packet alloc() {
        long h, nh;
        int top;
        do {
            h = (long) HEAD.getVolatile(this);
            top = (int) h - 1;
            if (top < 0) return null;
            // A racing pop and push of 'top' changes next[top], but also the version, so this CAS then fails.
            nh = (h & 0xffff_ffff_0000_0000L) + (1L << 32) | (next[top] + 1L);
        } while (!HEAD.compareAndSet(this, h, nh));
        Packet m = slots[top];
        m.reset(headroom);
        return m;
    }

    /** The set of pools this one belongs to, or null for a standalone pool. */
    Buffers buffers() { return buffers; }

    void setBuffers(Buffers b) { buffers = b; }

    void recycle(Packet m) {
        int i = m.poolIndex;
        long h;
        do {
            h = (long) HEAD.getVolatile(this);
            next[i] = (int) h - 1; // published by the CAS below
        } while (!HEAD.compareAndSet(this, h, (h & 0xffff_ffff_0000_0000L) + (1L << 32) | (i + 1L)));
    }

    /**
     * Takes up to {@code n} buffers off the stack with one CAS, for a {@link BufferCache}: they are stored in
     * {@code out[0..k)} as they were freed (not reset). Returns k, 0 when the pool is empty.
     */
    int takeBulk(Packet[] out, int n) {
        long h;
        int k, below;
        do {
            h = (long) HEAD.getVolatile(this);
            // Walk n links down from the top. Links may change under the walk, but only through a pop or a
            // push, which also moves the version: then the CAS fails and the walk is repeated.
            k = 0;
            below = (int) h - 1;
            while (k < n && below >= 0) {
                out[k++] = slots[below];
                below = next[below];
            }
            if (k == 0) return 0;
        } while (!HEAD.compareAndSet(this, h, (h & 0xffff_ffff_0000_0000L) + (1L << 32) | (below + 1L)));
        return k;
    }

    /**
     * Pushes the released buffers {@code ms[from..from+n)} with one CAS ({@code ms[from]} ends on top).
     * They must be this pool's and marked free.
     */
    void giveBulk(Packet[] ms, int from, int n) {
        if (n == 0) return;
        int top = ms[from].poolIndex, last = ms[from + n - 1].poolIndex;
        for (int j = from; j < from + n - 1; j++) next[ms[j].poolIndex] = ms[j + 1].poolIndex;
        long h;
        do {
            h = (long) HEAD.getVolatile(this);
            next[last] = (int) h - 1; // published, with the links above, by the CAS below
        } while (!HEAD.compareAndSet(this, h, (h & 0xffff_ffff_0000_0000L) + (1L << 32) | (top + 1L)));
    }

    /** Registers a thread's cache so that its free buffers count as available. */
    void register(BufferCache c) { caches.add(c); }

    void unregister(BufferCache c) { caches.remove(c); }

    public String name() { return name; }
    public int bufferSize() { return bufferSize; }
    public int headroom() { return headroom; }
    /** Largest packet a buffer of this pool holds after the default headroom. */
    public int maxData() { return bufferSize - headroom; }
    public int capacity() { return count; }
    /**
     * Buffers currently free: a walk of the free stack plus what threads hold in their caches, exact when
     * nobody allocates or frees meanwhile.
     */
    public int available() {
        int n = 0;
        for (int i = (int) (long) HEAD.getVolatile(this) - 1; i >= 0 && n < count; i = next[i]) n++;
        for (BufferCache c : caches) n += c.size();
        return n;
    }

    public int inUse() { return count - available(); }

    /**
     * Releases the slab, once no buffer is in use any more. With buffers still in use (a reader thread that
     * did not stop in time), the slab stays mapped until the process ends: the kernel's vector stages access
     * buffers by address (with {@link Packet#UNCHECKED}), and unmapping memory under them would crash the process
     * instead of failing one access.
     */
    @Override public void close() {
        if (inUse() == 0) arena.close();
        else System.getLogger(PacketPool.class.getName()).log(System.Logger.Level.WARNING,
                "pool " + name + " closed with " + inUse() + " buffers in use: its memory stays mapped");
    }
}
