package org.kextnet.kernel.buf;

/**
 * The kernel's buffer pools: one of MTU-sized buffers (2 KiB) for ordinary frames and one of 64 KiB
 * buffers for reassembled datagrams and large segments. {@link #alloc(int)} picks the smallest that fits.
 */
public final class Buffers implements AutoCloseable {
    public static final int SMALL_SIZE = 2048;
    public static final int LARGE_SIZE = 65536 + PacketPool.DEFAULT_HEADROOM;

    private final PacketPool small;
    private final PacketPool large;

    public Buffers(int smallCount, int largeCount) {
        this.small = new PacketPool("small", smallCount, SMALL_SIZE);
        this.large = new PacketPool("large", largeCount, LARGE_SIZE);
        small.setBuffers(this);
        large.setBuffers(this);
    }

    /** Default sizes: 16384 small buffers (32 MiB) and 128 large ones (8 MiB). */
    public static Buffers standard() { return new Buffers(16384, 128); }

    /** A buffer with room for at least {@code dataLength} bytes after the headroom, or null if none is free. */
    public Packet alloc(int dataLength) {
        if (dataLength <= small.maxData()) return small.alloc();
        if (dataLength <= large.maxData()) return large.alloc();
        return null;
    }

    /** An MTU-sized buffer or null. */
    public Packet alloc() { return small.alloc(); }

    public PacketPool small() { return small; }
    public PacketPool large() { return large; }

    @Override public void close() {
        small.close();
        large.close();
    }
}
