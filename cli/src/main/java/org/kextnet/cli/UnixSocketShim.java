package org.kextnet.cli;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A connected Unix-domain stream socket through {@code libkextnet-kl.so}, a JNI shim of four calls (socket+connect,
 * read, write, close; source in {@code cli/src/main/c/kl_unixsock.c}). kl_util reaches kern_loader with it
 * ({@link LoaderSocket#connect}).
 *
 * <p>Why it exists: in a fresh JVM, the JDK's {@code SocketChannel.open(StandardProtocolFamily.UNIX)} costs about
 * 50 ms before the first byte, because {@code sun.nio.ch.UnixDomainSockets}'s static initialiser creates a
 * {@code SecureRandom} and with it the JCA provider framework; {@code kl_util -s} has 10 ms for all of its own work.
 * The FFM API costs more still to set up. The library is optional: the build makes it when a C compiler is there,
 * and without it kl_util falls back to {@code SocketChannel}.
 *
 * <p>Not for concurrent use: one thread reads and writes, and closes when no call is in progress.
 */
final class UnixSocketShim implements ByteChannel {
    /** The library's file name, looked for beside the jar (or classes directory) holding this class. */
    static final String LIBRARY = "libkextnet-kl.so";
    /** System property: the library's path instead. */
    static final String LIBRARY_PROPERTY = "kextnet.kl.library";
    /** The most the library copies per call (its stack buffer). */
    private static final int CHUNK = 65536;

    private static boolean tried;
    /** Why the library is not loaded (null once it is). */
    private static String problem = "not tried";

    private final int fd;
    private boolean open = true;

    private UnixSocketShim(int fd) {
        this.fd = fd;
    }

    /** Loads the library once; false if it is absent or does not load ({@link #problem} says why). */
    static synchronized boolean load() {
        if (tried) return problem == null;
        tried = true;
        try {
            File lib = library();
            if (!lib.isFile()) {
                problem = lib + " not found (built only where a C compiler is)";
                return false;
            }
            System.load(lib.getAbsolutePath());
            problem = null;
        } catch (UnsatisfiedLinkError | java.net.URISyntaxException | RuntimeException e) {
            problem = e.toString();
        }
        return problem == null;
    }

    /** Why {@link #load} failed, or null if it succeeded. */
    static synchronized String problem() { return problem; }

    /** Where the library is: {@value #LIBRARY_PROPERTY}, else beside this class's jar or classes directory. */
    static File library() throws java.net.URISyntaxException {
        String p = System.getProperty(LIBRARY_PROPERTY);
        if (p != null) return new File(p);
        File codeSource = new File(UnixSocketShim.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return new File(codeSource.getParentFile(), LIBRARY);
    }

    /** Connects to the stream socket at {@code path}; {@link #load} must have succeeded. */
    static UnixSocketShim connect(Path path) throws IOException {
        return new UnixSocketShim(connect0(path.toString().getBytes(StandardCharsets.UTF_8)));
    }

    @Override public int read(ByteBuffer dst) throws IOException {
        if (!open) throw new ClosedChannelException();
        if (dst.hasArray()) {
            int n = read0(fd, dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
            if (n > 0) dst.position(dst.position() + n);
            return n;
        }
        byte[] b = new byte[Math.min(dst.remaining(), CHUNK)];
        int n = read0(fd, b, 0, b.length);
        if (n > 0) dst.put(b, 0, n);
        return n;
    }

    @Override public int write(ByteBuffer src) throws IOException {
        if (!open) throw new ClosedChannelException();
        int n;
        if (src.hasArray()) {
            n = write0(fd, src.array(), src.arrayOffset() + src.position(), src.remaining());
        } else {
            byte[] b = new byte[Math.min(src.remaining(), CHUNK)];
            src.get(src.position(), b);
            n = write0(fd, b, 0, b.length);
        }
        src.position(src.position() + n);
        return n;
    }

    @Override public boolean isOpen() { return open; }

    @Override public void close() {
        if (!open) return;
        open = false;
        close0(fd);
    }

    /** A connected AF_UNIX stream socket's descriptor (close-on-exec); IOException with strerror's text. */
    private static native int connect0(byte[] path) throws IOException;
    /** Bytes read into {@code b[off..]}, at most {@code min(len, 65536)}; -1 at end of stream. */
    private static native int read0(int fd, byte[] b, int off, int len) throws IOException;
    /** Bytes written from {@code b[off..]}, at most {@code min(len, 65536)}. */
    private static native int write0(int fd, byte[] b, int off, int len) throws IOException;
    private static native void close0(int fd);
}
