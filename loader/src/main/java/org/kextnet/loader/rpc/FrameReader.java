package org.kextnet.loader.rpc;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * The daemon's reading side of one connection. Its buffer grows only as bytes arrive (to at most twice what the
 * current frame has delivered, never to a length the client merely declared) and goes back to its small size after
 * a large frame, so what a connection holds is bounded by what its client has actually sent. Not thread-safe: the
 * connection's reader thread owns it.
 */
final class FrameReader {
    /** The buffer a connection starts with and returns to: most frames and the greeting fit. */
    static final int SMALL = 512;

    private final ReadableByteChannel ch;
    private final Runnable onBytes;
    private ByteBuffer buf = ByteBuffer.allocate(SMALL).flip(); // read mode: position..limit is unread

    /** @param onBytes run each time a read returns bytes (the connection's activity clock) */
    FrameReader(ReadableByteChannel ch, Runnable onBytes) {
        this.ch = ch;
        this.onBytes = onBytes;
    }

    /** Bytes read and not yet taken. */
    int buffered() { return buf.remaining(); }

    /**
     * Reads until at least {@code n} bytes are buffered.
     * @return false at end of stream before the first of them (a clean end between frames, if nothing is buffered)
     * @throws EOFException at end of stream after some of them
     */
    boolean fill(int n) throws IOException {
        if (buf.remaining() >= n) return true;
        if (buf.capacity() < n) {
            // Double, never beyond n: the buffer grows only when the bytes that arrived have filled it.
            ByteBuffer bigger = ByteBuffer.allocate(Math.min(n, buf.capacity() * 2));
            bigger.put(buf);
            buf = bigger; // write mode
        } else {
            buf.compact();
        }
        try {
            while (buf.position() < n) {
                if (buf.position() == buf.capacity()) { // full of what arrived, and short of n: double again
                    ByteBuffer bigger = ByteBuffer.allocate(Math.min(n, buf.capacity() * 2));
                    buf.flip();
                    bigger.put(buf);
                    buf = bigger;
                }
                int start = buf.position();
                int r = ch.read(buf);
                if (r < 0) {
                    if (start == 0) return false;
                    throw new EOFException("connection closed inside a frame");
                }
                if (r > 0) onBytes.run();
            }
            return true;
        } finally {
            buf.flip();
        }
    }

    /**
     * One read of what the channel has now, without waiting for a length (the caller has made the channel
     * non-blocking): the bytes read, 0 if there were none, -1 at end of stream. A full buffer is not read into.
     */
    int readAvailable() throws IOException {
        if (buf.remaining() == buf.capacity()) return buf.remaining();
        buf.compact();
        try {
            int r = ch.read(buf);
            if (r > 0) onBytes.run();
            return r;
        } finally {
            buf.flip();
        }
    }

    /** The int at {@code offset} among the buffered bytes (big-endian). */
    int peekInt(int offset) { return buf.getInt(buf.position() + offset); }

    /** The byte at {@code offset} among the buffered bytes, unsigned. */
    int peekByte(int offset) { return buf.get(buf.position() + offset) & 0xff; }

    /** The next {@code n} buffered bytes, valid until the next fill; they are consumed. */
    ByteBuffer take(int n) {
        ByteBuffer out = buf.slice(buf.position(), n);
        buf.position(buf.position() + n);
        return out;
    }

    /** Reads and drops {@code n} bytes (an unknown operation's body) through the buffer as it is. */
    void skip(long n) throws IOException {
        while (n > 0) {
            if (!buf.hasRemaining() && !fill(1)) throw new EOFException("connection closed inside a frame");
            int k = (int) Math.min(n, buf.remaining());
            buf.position(buf.position() + k);
            n -= k;
        }
    }

    /** After a frame: a buffer grown for a large frame is let go (what is left unread is kept). */
    void shrink() {
        if (buf.capacity() <= SMALL || buf.remaining() > SMALL) return;
        ByteBuffer small = ByteBuffer.allocate(SMALL);
        small.put(buf);
        buf = small.flip();
    }

    /** The buffer's capacity (for tests). */
    int capacity() { return buf.capacity(); }
}
