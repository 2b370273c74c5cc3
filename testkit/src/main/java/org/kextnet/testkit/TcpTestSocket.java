package org.kextnet.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;

import org.kextnet.kernel.inet.tcp.TcpConnection;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * An application's TCP socket in an {@link EmbeddedKernel} ({@link EmbeddedKernel#openTcp}, {@link
 * EmbeddedKernel#listenTcp}, {@link EmbeddedKernel#connectTcp}). Every call goes through the socket filters as an
 * application's would, on the calling thread; the socket filters see {@link #socket()}.
 *
 * <p>Calls that wait (connect, accept, read, write) do so by running the kernels' frames on the test's thread,
 * between the kernel and its {@link EmbeddedKernel#peer peer}, until they can finish or their wait is over: up to
 * {@link #DEFAULT_WAIT_SECONDS} unless they take a timeout. On the system clock the kernels' timers keep running on
 * their threads meanwhile. On a {@link EmbeddedKernel.Builder#manualClock manual clock} nothing moves behind the test's
 * back: a wait moves the clock to the next timeout whenever no frame is left (a retransmission, a delayed ACK, an
 * extension's callout), so a wait of 10 s costs what the work costs, and a wait that runs out has let its whole
 * time pass. Calls that do not wait ({@link #available()}, {@link #state()}) run nothing.
 *
 * <p>A connection to the kernel's own addresses goes through its loopback interface, which has a thread of its own:
 * that works on the system clock; on a manual clock connect to the peer instead (connect refuses it).
 *
 * <p>A refused call throws an {@link IOException} whose message starts with the errno's name ("ECONNREFUSED: ...").
 */
public final class TcpTestSocket implements AutoCloseable {
    /** How long a call waits when it takes no timeout. */
    public static final long DEFAULT_WAIT_SECONDS = 10;
    private static final long DEFAULT_WAIT = TimeUnit.SECONDS.toNanos(DEFAULT_WAIT_SECONDS);
    private static final int CHUNK = 64 * 1024;

    private final TcpSocket so;
    private final KernelGroup group;
    private final IntPredicate local;

    TcpTestSocket(TcpSocket so, KernelGroup group, IntPredicate local) {
        this.so = so;
        this.group = group;
        this.local = local;
        so.setBlocking(false); // every wait is the test kit's, so that it can run the frames meanwhile
    }

    /** A condition that may fail with the socket's error. */
    @FunctionalInterface
    private interface Step {
        boolean done() throws IOException;
    }

    /** Waits for {@code step} as {@link KernelGroup#await} does; an error it throws ends the wait and is thrown. */
    private boolean await(Step step, long timeoutNanos) throws IOException {
        IOException[] failure = new IOException[1];
        boolean done = group.await(() -> {
            try {
                return step.done();
            } catch (IOException e) {
                failure[0] = e;
                return true;
            }
        }, timeoutNanos);
        if (failure[0] != null) throw failure[0];
        return done;
    }

    /** The socket as extensions see it (what a socket filter's {@code SocketAttachment.socket()} returns). */
    public Socket socket() { return so; }

    /** Binds to {@code port} on every address (0: an ephemeral port). */
    public TcpTestSocket bind(int port) throws IOException {
        so.bind(0, port);
        return this;
    }

    public TcpTestSocket bind(SockAddr address) throws IOException {
        so.bind(address);
        return this;
    }

    /** Listens, with room for {@code backlog} connections not yet accepted. */
    public void listen(int backlog) throws IOException { so.listen(backlog); }

    /** {@link #connect(int, int, long, TimeUnit)} within {@link #DEFAULT_WAIT_SECONDS}. */
    public void connect(int address, int port) throws IOException { connect(address, port, DEFAULT_WAIT_SECONDS, TimeUnit.SECONDS); }

    /**
     * Connects to {@code address}:{@code port} (the socket filters' {@code connect_out} first) and waits for the
     * handshake to finish.
     * @throws IOException ECONNREFUSED, ETIMEDOUT (no answer within the wait), a socket filter's error
     * @throws IllegalStateException for one of the kernel's own addresses on a manual clock (see the class comment)
     */
    public void connect(int address, int port, long timeout, TimeUnit unit) throws IOException {
        if (group.manual() && local.test(address)) {
            throw new IllegalStateException("a connection to the kernel's own address " + Frames.format(address)
                    + " runs on the loopback interface's thread: on a manual clock, connect to the peer's address");
        }
        try {
            so.connect(address, port); // non-blocking: the SYN is out, or a filter refused
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (!await(so::finishConnect, unit.toNanos(timeout))) {
            throw new SocketError(Errno.ETIMEDOUT, "connect to " + Frames.format(address) + ":" + port + " not finished within " + timeout + " " + unit);
        }
    }

    /** {@link #accept(long, TimeUnit)} within {@link #DEFAULT_WAIT_SECONDS}. */
    public TcpTestSocket accept() throws IOException { return accept(DEFAULT_WAIT_SECONDS, TimeUnit.SECONDS); }

    /**
     * The next connection of a listening socket (the accepted socket's filters hear {@code accept} first, and may
     * refuse it: then the next one is taken).
     * @return the connected socket, or null if none came within the wait
     * @throws IOException EINVAL if the socket is not listening
     */
    public TcpTestSocket accept(long timeout, TimeUnit unit) throws IOException {
        TcpSocket[] got = new TcpSocket[1];
        if (!await(() -> (got[0] = so.tryAccept()) != null, unit.toNanos(timeout))) return null;
        return new TcpTestSocket(got[0], group, local);
    }

    /** {@link #write(byte[], long, TimeUnit)} within {@link #DEFAULT_WAIT_SECONDS}. */
    public int write(byte[] data) throws IOException { return write(data, DEFAULT_WAIT_SECONDS, TimeUnit.SECONDS); }

    /**
     * Writes {@code data}, waiting for room in the send buffer as the peer acknowledges what went before (so the peer
     * must read what exceeds its receive window). The data-out filters see it first, in pieces.
     * @return the bytes taken: all of them, unless the wait ran out (a filter that swallows data counts it as taken)
     * @throws IOException EPIPE (shut down or closed), ENOTCONN, the connection's error, or a filter's
     */
    public int write(byte[] data, long timeout, TimeUnit unit) throws IOException {
        ByteBuffer src = ByteBuffer.wrap(data);
        await(() -> {
            try {
                so.write(src);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            return !src.hasRemaining();
        }, unit.toNanos(timeout));
        return data.length - src.remaining();
    }

    /** {@link #read(int, long, TimeUnit)} within {@link #DEFAULT_WAIT_SECONDS}. */
    public byte[] read(int max) throws IOException { return read(max, DEFAULT_WAIT_SECONDS, TimeUnit.SECONDS); }

    /**
     * Reads what has arrived, up to {@code max} bytes, waiting for at least one.
     * @return the bytes (a copy the test owns); empty if none came within the wait; null at the end of the stream
     * @throws IOException the connection's error (ECONNRESET, ETIMEDOUT...), once; ENOTCONN
     */
    public byte[] read(int max, long timeout, TimeUnit unit) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(max);
        int[] n = new int[1];
        await(() -> (n[0] = readNow(dst)) != 0, unit.toNanos(timeout));
        if (n[0] < 0) return null;
        return Arrays.copyOf(dst.array(), dst.position());
    }

    private int readNow(ByteBuffer dst) throws IOException {
        try {
            return so.read(dst, 0, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Reads exactly {@code n} bytes within {@link #DEFAULT_WAIT_SECONDS}.
     * @throws IOException if the stream ends first, the wait runs out ("ETIMEDOUT: 3 of 5 bytes ..."), or the
     *         connection fails
     */
    public byte[] readFully(int n) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(n);
        boolean[] eof = new boolean[1];
        boolean done = await(() -> {
            while (dst.hasRemaining()) {
                int r = readNow(dst);
                if (r < 0) {
                    eof[0] = true;
                    return true;
                }
                if (r == 0) return false;
            }
            return true;
        }, DEFAULT_WAIT);
        if (eof[0]) throw new IOException("end of stream after " + dst.position() + " of " + n + " bytes");
        if (!done) throw new SocketError(Errno.ETIMEDOUT, dst.position() + " of " + n + " bytes within " + DEFAULT_WAIT_SECONDS + " s");
        return dst.array();
    }

    /**
     * Reads until the peer's FIN (the end of the stream), within {@code timeout}.
     * @return every byte read
     * @throws IOException if the stream did not end in time ("ETIMEDOUT: ..."), or the connection fails
     */
    public byte[] readToEnd(long timeout, TimeUnit unit) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        boolean done = await(() -> {
            while (true) {
                buf.clear();
                int r = readNow(buf);
                if (r < 0) return true;
                if (r == 0) return false;
                all.write(buf.array(), 0, r);
            }
        }, unit.toNanos(timeout));
        if (!done) throw new SocketError(Errno.ETIMEDOUT, "no end of stream within " + timeout + " " + unit + " (" + all.size() + " bytes read)");
        return all.toByteArray();
    }

    /** Bytes a read would return now (0 for a listening socket). Runs nothing. */
    public int available() {
        TcpConnection c = so.connection();
        return c == null ? 0 : so.available();
    }

    /**
     * The connection's state by RFC 9293's names ("SYN-SENT", "ESTABLISHED", "TIME-WAIT", ...), "LISTEN" for a
     * listening socket. Runs nothing.
     */
    public String state() {
        TcpConnection c = so.connection();
        if (c != null) return c.state().toString();
        return so.listener() != null ? "LISTEN" : "CLOSED";
    }

    /** Whether the socket is connected (the handshake finished and the connection is not over). */
    public boolean isConnected() { return so.isConnected(); }

    /** {@code getsockname}, as the socket filters may rewrite it (0.0.0.0:0 while unbound). */
    public SockAddr localAddress() throws IOException { return so.getSockName(); }

    /** {@code getpeername}, as the socket filters may rewrite it. @throws IOException ENOTCONN */
    public SockAddr remoteAddress() throws IOException { return so.getPeerName(); }

    /** {@code setsockopt} with an int value ({@code SO_NKE} attaches a programmatic socket filter by handle). */
    public void setOption(int level, int name, int value) throws IOException { so.setOption(level, name, value); }

    public void setOption(int level, int name, byte[] value) throws IOException { so.setOption(level, name, value); }

    /** {@code getsockopt}: the option's value as the protocol or a filter returned it. */
    public byte[] getOption(int level, int name) throws IOException { return so.getOption(level, name); }

    /** {@code shutdown(SHUT_WR)}: a FIN after what was written; reading goes on. */
    public void shutdownOutput() throws IOException { so.shutdown(SocketConstants.SHUT_WR); }

    /** {@code shutdown}: {@code SHUT_RD}, {@code SHUT_WR} or {@code SHUT_RDWR}. */
    public void shutdown(int how) throws IOException { so.shutdown(how); }

    /** Closes with a reset instead of a FIN ({@code SO_LINGER} with a zero timeout, then close). */
    public void abort() throws IOException {
        so.setLinger(true, 0);
        so.close();
    }

    /**
     * Closes the socket: the connection sends what is left and a FIN (the frames go out as the kernels run); the
     * filters hear {@code closing} now and stay attached until the connection is over. Idempotent.
     */
    @Override public void close() { so.close(); }

    @Override public String toString() { return so.toString(); }
}
