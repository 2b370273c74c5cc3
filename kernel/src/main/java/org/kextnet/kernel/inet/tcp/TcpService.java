package org.kextnet.kernel.inet.tcp;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * The small TCP services of inetd: echo (RFC 862), discard (RFC 863) and the character generator (RFC 864).
 * Each is an ordinary {@link TcpSocket} listening on its port, its connections ordinary sockets too, so that socket
 * filters see all of their traffic as any application's. Discard and chargen, the bulk services, serve each
 * connection on a virtual thread of its own with blocking reads and writes. Echo, whose clients are mostly a request
 * and a reply, is served on the sockets' upcalls ({@link TcpSocket#setUpcall}, as xnu's in-kernel servers use
 * {@code so_upcall}): non-blocking calls on the thread that made the socket ready, usually the packet thread that
 * brought the data, so that a connection's life costs no thread and no hand-off between threads (each wake-up of a
 * thread cost more CPU than the rest of a short connection).
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
 * under inetd (an echo connection holds no thread, and a buffer only while the client does not read what it sent);
 * closing the service resets the listener and closes every connection it serves.
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
    /** Discard's read buffer, the first and the largest it grows to; echo reads at most the largest at a time. */
    private static final int FIRST_BUFFER = 2048, MAX_BUFFER = 64 * 1024;

    /**
     * What chargen writes, again and again (read only; shared): nine full turns of the pattern (95 lines each,
     * 63 KiB), so that one write gives TCP enough for a 64 KiB super-segment where the device segments (one turn
     * per write left most of them at 5 segments).
     */
    private static final byte[] TURNS;

    static {
        PRINTABLE = new byte[2 * 95];
        for (int i = 0; i < PRINTABLE.length; i++) PRINTABLE[i] = (byte) (' ' + i % 95);
        int turn = 95 * (LINE + 2);
        TURNS = new byte[9 * turn];
        for (int i = 0; i < 95; i++) {
            System.arraycopy(PRINTABLE, i, TURNS, i * (LINE + 2), LINE);
            TURNS[i * (LINE + 2) + LINE] = '\r';
            TURNS[i * (LINE + 2) + LINE + 1] = '\n';
        }
        for (int t = 1; t < 9; t++) System.arraycopy(TURNS, 0, TURNS, t * turn, turn);
    }

    private final Kind kind;
    private final TcpSocket listener;
    private final int port;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final Set<TcpSocket> serving = ConcurrentHashMap.newKeySet();
    /** The accept loop's thread; null for a service served on upcalls. */
    private final Thread acceptor;
    /** Calls of {@link #acceptReady} pending: one thread accepts at a time, the others leave their turn to it. */
    private final AtomicInteger accepting = new AtomicInteger();
    private volatile boolean closed;

    private TcpService(Kind kind, TcpSocket listener) throws SocketError {
        this.kind = kind;
        this.listener = listener;
        this.port = listener.getSockName().port();
        this.acceptor = onUpcalls(kind) ? null
                : Thread.ofVirtual().name("kextnet-" + kind.command() + "-" + port).unstarted(this::acceptLoop);
    }

    /** Whether the kind's connections are served on socket upcalls rather than threads. */
    private static boolean onUpcalls(Kind kind) { return kind == Kind.ECHO; }

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
            if (s.acceptor != null) {
                s.acceptor.start();
            } else {
                so.setBlocking(false); // accepted sockets inherit it
                so.setUpcall(s::acceptReady);
                s.acceptReady();
            }
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

    /**
     * The listener's upcall: accepts every connection waiting, as long as there are slots, and starts serving each on
     * its own upcall. Never waits (the listener does not block).
     */
    private void acceptReady() {
        if (accepting.getAndIncrement() != 0) return; // the thread accepting now goes round again
        int missed = 1;
        do {
            while (!closed && slots.tryAcquire()) {
                TcpSocket so;
                try {
                    so = listener.tryAccept();
                } catch (SocketError e) {
                    so = null; // the listener was closed
                }
                if (so == null) {
                    slots.release();
                    break;
                }
                serving.add(so);
                if (closed) {
                    finish(so); // close() may not have seen it
                    break;
                }
                new UpcallEcho(so).begin();
            }
            missed = accepting.addAndGet(-missed);
        } while (missed != 0);
    }

    /**
     * One echo connection served on its socket's upcall: reads what came and writes it back as far as the send buffer
     * takes it; what it does not take waits in {@link #pending}, and nothing more is read until it is written (the
     * client's window closes meanwhile, as it would against a blocked writer).
     */
    private final class UpcallEcho implements Runnable {
        private final TcpSocket so;
        /** Upcalls pending: one thread serves the connection at a time, the others leave their turn to it. */
        private final AtomicInteger wip = new AtomicInteger();
        private ByteBuffer pending;
        /** The last buffer written back, for the next read: a bulk echo allocates once, a request and reply little. */
        private ByteBuffer spare;

        UpcallEcho(TcpSocket so) { this.so = so; }

        void begin() {
            so.setBlocking(false);
            so.setUpcall(this);
            run(); // what arrived before the upcall was set
        }

        @Override public void run() {
            if (wip.getAndIncrement() != 0) return;
            int missed = 1;
            do {
                step();
                missed = wip.addAndGet(-missed);
            } while (missed != 0);
        }

        private void step() {
            try {
                while (!so.isClosed()) {
                    if (pending != null) {
                        so.write(pending);
                        if (pending.hasRemaining()) return; // room in the send buffer calls again
                        spare = pending;
                        pending = null;
                    }
                    int want = Math.clamp(so.available(), 1, MAX_BUFFER);
                    ByteBuffer buf = spare != null && spare.capacity() >= want ? spare.clear() : ByteBuffer.allocate(want);
                    int n = so.read(buf);
                    if (n == 0) return; // the next data, or the end, calls again
                    if (n < 0) {
                        so.shutdown(SocketConstants.SHUT_WR); // the client's end of stream, passed on after the data
                        break;
                    }
                    pending = buf.flip();
                }
            } catch (SocketError e) {
                // the client reset or went away: the connection is over
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // not from calls that do not wait; the connection ends all the same
            } catch (RuntimeException e) { // a bug: the connection ends, the packet thread that called goes on
                System.getLogger("kextnet.kernel").log(System.Logger.Level.ERROR, "tcp-echo on port " + port, e);
            }
            finish(so); // closed here, by the service, or after an error
        }
    }

    private void serve(TcpSocket so) {
        try {
            so.setBlocking(true);
            so.setTimeout(0, TimeUnit.NANOSECONDS);
            switch (kind) {
                case DISCARD -> discard(so);
                case CHARGEN -> chargen(so);
                case ECHO -> throw new IllegalStateException("echo is served on upcalls");
            }
        } catch (SocketError e) {
            // the client reset or went away: the connection is over
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            finish(so);
        }
    }

    /**
     * Out of the list first: whoever sees the connection end (the client, a test) finds it no longer served. A service
     * on upcalls then takes what waited for the slot. Idempotent.
     */
    private void finish(TcpSocket so) {
        boolean served = serving.remove(so);
        so.close();
        if (!served) return;
        slots.release();
        if (acceptor == null) acceptReady();
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
            so.write(ByteBuffer.wrap(TURNS)); // blocks while the client does not read; fails once it is gone
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
        if (acceptor != null) acceptor.interrupt();
    }

    @Override public String toString() {
        return kind.command() + " on port " + port + " (" + serving.size() + " connections)";
    }

}
