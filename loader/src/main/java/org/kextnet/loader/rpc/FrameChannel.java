package org.kextnet.loader.rpc;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

/**
 * The clients' frames over a byte channel (a Unix socket: the JDK's {@code SocketChannel}, or kl_util's JNI one):
 * buffered reads (several small frames per read system call) and whole-frame writes under one lock, so frames from
 * different threads never interleave. (The daemon reads with {@link FrameReader}, which also bounds what it holds.)
 */
final class FrameChannel implements AutoCloseable {
    private final ByteChannel ch;
    private ByteBuffer in = ByteBuffer.allocate(64 * 1024).flip();
    private final Object writeLock = new Object();

    FrameChannel(ByteChannel ch) {
        this.ch = ch;
    }

    /** Reads exactly {@code n} bytes (the greeting). */
    ByteBuffer readExactly(int n) throws IOException {
        fill(n);
        ByteBuffer out = in.slice(in.position(), n);
        in.position(in.position() + n);
        return out;
    }

    /**
     * The next frame without its length prefix (op, tag, body), as a buffer valid until the next call.
     * @return null at end of stream between frames
     * @throws RpcFormatException for a length outside 5..{@link Rpc#MAX_FRAME}
     */
    ByteBuffer readFrame() throws IOException, RpcFormatException {
        if (!in.hasRemaining()) {
            in.clear();
            int r = ch.read(in);
            in.flip();
            if (r < 0) return null;
        }
        fill(4);
        int len = in.getInt(in.position());
        if (len < 5 || len > Rpc.MAX_FRAME) throw new RpcFormatException("frame length " + len + " outside 5.." + Rpc.MAX_FRAME);
        in.position(in.position() + 4);
        fill(len);
        ByteBuffer f = in.slice(in.position(), len);
        in.position(in.position() + len);
        return f;
    }

    /** Reads until {@code n} bytes are buffered; the buffer doubles only when what arrived has filled it. */
    private void fill(int n) throws IOException {
        if (in.remaining() >= n) return;
        in.compact(); // write mode from here
        while (in.position() < n) {
            if (in.position() == in.capacity()) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.min(n, in.capacity() * 2));
                bigger.put(in.flip());
                in = bigger;
            }
            if (ch.read(in) < 0) throw new EOFException("connection closed inside a frame");
        }
        in.flip();
    }

    void write(ByteBuffer frame) throws IOException {
        synchronized (writeLock) {
            while (frame.hasRemaining()) ch.write(frame);
        }
    }

    @Override public void close() throws IOException {
        ch.close();
    }
}
