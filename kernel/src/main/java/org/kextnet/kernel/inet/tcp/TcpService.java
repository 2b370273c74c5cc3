package org.kextnet.kernel.inet.tcp;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * The small TCP services of inetd: echo (RFC 862), discard (RFC 863) and the character generator (RFC 864).
 * Each is an ordinary {@link TcpSocket} listening on its port, its connections served by one virtual thread
 * each with blocking reads and writes, so that socket filters see all of their traffic as any application's.
 *
 * <ul>
 * <li><b>echo</b> writes back what it reads; when the client shuts its side, echo finishes writing and closes.</li>
 * <li><b>discard</b> reads and drops everything until the client closes.</li>
 * <li><b>chargen</b> sends RFC 864's 72-character lines (95 printable characters, each line starting one later)
 *   until the client goes away; what the client sends is read and dropped.</li>
 * </ul>
 *
 * <p>At most {@link #MAX_CONNECTIONS} connections are served at once; beyond that the service stops accepting
 * until one ends, so new clients wait in the listener's backlog and then, as for any full listener, their SYNs
 * are dropped (or answered with SYN cookies). A connection that stays idle holds its thread and buffers, as
 * under inetd; closing the service resets the listener and closes every connection it serves.
 */
public final class TcpService implements AutoCloseable {
    /** Connections one service serves at once. */
    public static final int MAX_CONNECTIONS = 4096;
    /** The listen backlog. */
    public static final int BACKLOG = 512;

    /** Which service. */
    public enum Kind {
        ECHO("tcp-echo", 7), DISCARD("tcp-discard", 9), CHARGEN("tcp-chargen", 19);

        private final String command;
        private final int defaultPort;

        Kind(String command, int defaultPort) {
            this.command = command;
            this.defaultPort = defaultPort;
        }

        /** The name in {@code service NAME [PORT]}. */
        public String command() { return command; }

        /** Its well-known port. */
        public int defaultPort() { return defaultPort; }
    }

    /** RFC 864's pattern: the 95 printable characters twice, so that each line is one slice of it. */
    private static final byte[] PRINTABLE;
    private static final int LINE = 72;
    /** Echo's and discard's read buffer: the first one, and the largest it grows to. */
    private static final int FIRST_BUFFER = 2048, MAX_BUFFER = 64 * 1024;

    /** One full turn of the pattern, 95 lines: what chargen writes, again and again (read only; shared). */
    private static final byte[] TURN;

    static {
        PRINTABLE = new byte[2 * 95];
        for (int i = 0; i < PRINTABLE.length; i++) PRINTABLE[i] = (byte) (' ' + i % 95);
        TURN = new byte[95 * (LINE + 2)];
        for (int i = 0; i < 95; i++) {
            System.arraycopy(PRINTABLE, i, TURN, i * (LINE + 2), LINE);
            TURN[i * (LINE + 2) + LINE] = '\r';
            TURN[i * (LINE + 2) + LINE + 1] = '\n';
        }
    }

    private final Kind kind;
    private final TcpSocket listener;
    private final int port;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final Set<TcpSocket> serving = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    private TcpService(Kind kind, TcpSocket listener) throws SocketError {
        this.kind = kind;
        this.listener = listener;
        this.port = listener.getSockName().port();
        this.acceptor = Thread.ofVirtual().name("kextnet-" + kind.command() + "-" + port).unstarted(this::acceptLoop);
    }

    /**
     * Starts {@code kind} on {@code port} (0: its well-known port) of every local address.
     * @throws SocketError EADDRINUSE and the like; nothing is left open then
     */
    public static TcpService start(TcpLayer tcp, Kind kind, int port) throws SocketError {
        TcpSocket so = tcp.open();
        try {
            so.bind(0, port == 0 ? kind.defaultPort() : port);
            so.listen(BACKLOG);
            TcpService s = new TcpService(kind, so);
            s.acceptor.start();
            return s;
        } catch (SocketError | RuntimeException e) {
            so.close();
            throw e;
        }
    }

    public Kind kind() { return kind; }

    public int port() { return port; }

    /** Connections being served now. */
    public int connections() { return serving.size(); }

    private void acceptLoop() {
        try {
            while (!closed) {
                slots.acquire();
                TcpSocket so;
                try {
                    // Untimed: close() closes the listener, which wakes this wait (and interrupts it). A timed wait
                    // would cost a timer set and cancelled on the scheduler's thread for every connection.
                    so = listener.accept(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
                } catch (SocketError e) {
                    slots.release();
                    return; // the listener was closed
                }
                if (so == null) {
                    slots.release();
                    continue;
                }
                serving.add(so);
                if (closed) {
                    finish(so);
                    return;
                }
                Thread.ofVirtual().name("kextnet-" + kind.command() + "-" + port + "-conn").start(() -> serve(so));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void serve(TcpSocket so) {
        try {
            so.setBlocking(true);
            so.setTimeout(0, TimeUnit.NANOSECONDS);
            switch (kind) {
                case ECHO -> echo(so);
                case DISCARD -> discard(so);
                case CHARGEN -> chargen(so);
            }
        } catch (SocketError e) {
            // the client reset or went away: the connection is over
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            finish(so);
        }
    }

    /** Out of the list first: whoever sees the connection end (the client, a test) finds it no longer served. */
    private void finish(TcpSocket so) {
        boolean served = serving.remove(so);
        so.close();
        if (served) slots.release();
    }

    private static void echo(TcpSocket so) throws SocketError, InterruptedException {
        ByteBuffer buf = ByteBuffer.allocate(FIRST_BUFFER);
        while (true) {
            buf = roomier(buf);
            int n = so.read(buf);
            if (n < 0) break;
            buf.flip();
            so.write(buf);
        }
        so.shutdown(SocketConstants.SHUT_WR); // the client's end of stream, passed on
    }

    private static void discard(TcpSocket so) throws SocketError, InterruptedException {
        ByteBuffer buf = ByteBuffer.allocate(FIRST_BUFFER);
        while (true) {
            buf = roomier(buf);
            if (so.read(buf) < 0) return;
        }
    }

    /**
     * The buffer for the next read, cleared: twice as large (up to {@link #MAX_BUFFER}) if the last read filled it. A
     * connection that carries a request starts small, a bulk one reaches the large size in a few reads.
     */
    private static ByteBuffer roomier(ByteBuffer buf) {
        if (buf.position() == buf.capacity() && buf.capacity() < MAX_BUFFER) return ByteBuffer.allocate(2 * buf.capacity());
        return buf.clear();
    }

    private static void chargen(TcpSocket so) throws SocketError, InterruptedException {
        ByteBuffer sink = ByteBuffer.allocate(4096);
        while (true) {
            so.write(ByteBuffer.wrap(TURN)); // blocks while the client does not read; fails once it is gone
            while (so.available() > 0) { // what the client sends is read and dropped (RFC 864)
                sink.clear();
                if (so.read(sink, 0, TimeUnit.NANOSECONDS) <= 0) break;
            }
        }
    }

    /** Resets the listener (connections not yet accepted) and closes every connection served. */
    @Override public void close() {
        closed = true;
        listener.close();
        for (TcpSocket so : serving) so.close();
        acceptor.interrupt();
    }

    @Override public String toString() {
        return kind.command() + " on port " + port + " (" + serving.size() + " connections)";
    }

}
