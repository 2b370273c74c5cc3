package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

import jdk.net.UnixDomainPrincipal;

import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/**
 * One client of the RPC port, served by one virtual thread: the greeting, then frames, each decoded into a
 * {@link Request} and handed to the client's {@link Session}; what goes back leaves through an {@link Outbox}.
 *
 * <p>What a client can make the daemon hold is bounded (docs/rpc.md, "Limits"): a frame is refused as soon as its
 * length says it is longer than its operation allows ({@link Op#maxFrame}); the bytes of a frame are held only as they
 * arrive ({@link FrameReader}); the next frame is not read while the requests in the daemon use up the connection's
 * budget ({@link RpcLimits#connectionBudget}, {@link RpcLimits#MAX_OUTSTANDING}). Time is bounded too: the server's
 * watchdog calls {@link #check}, which closes a connection whose greeting, frame or write has taken longer than
 * {@link RpcLimits#frameTimeoutMillis}, or that has been idle for {@link RpcLimits#idleTimeoutMillis} (status listeners
 * excepted).
 *
 * <p>Latency: a virtual thread that reads an empty socket parks, and the JDK's poller unparks it when bytes arrive; on
 * a busy machine each of those wake-ups waits for a CPU, which made a sequential client's round trip three times what
 * a platform thread per connection gave (docs/benchmarks.md). So a connection whose client is quick (its last frame
 * came within twice {@link #SPIN_NANOS} of the daemon being ready for it) first reads without blocking for up to
 * {@link #SPIN_NANOS}, yielding its carrier between reads, and parks only if nothing came.
 */
final class Connection implements Session.Out, Outbox.Owner {
    static final long DEFAULT_SPIN_MICROS = 50;
    /**
     * How long an idle connection whose client is quick reads without blocking before it parks: microseconds, from the
     * system property {@code kextnet.rpc.spinMicros} (0 to 1000; 0 never), default {@value #DEFAULT_SPIN_MICROS}.
     */
    static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(Math.clamp(Long.getLong("kextnet.rpc.spinMicros", DEFAULT_SPIN_MICROS), 0, 1000));

    /** The connection whose thread this is (its reader, or one of its requests'): its writes drain inline. */
    private static final ThreadLocal<Connection> OWN = new ThreadLocal<>();

    /** What the reader is doing, for the watchdog. */
    private enum Phase { GREETING, IDLE, FRAME, WAITING }

    private final RpcServer server;
    private final SocketChannel socket;
    private final RpcLimits limits;
    private final FrameReader in;
    private final Outbox out;
    private Session session;
    private volatile int version;
    private volatile Phase phase = Phase.GREETING;
    private volatile long phaseSince = System.nanoTime();
    private volatile long lastActivity = phaseSince;
    /** When the write now blocked began, or 0. */
    private volatile long writingSince;
    private volatile boolean listener;
    /** Requests read so far. */
    private volatile long requests;
    private volatile boolean closed;
    /** Why the connection was closed from outside (deadline, eviction, shutdown), or null. */
    private volatile RpcServer.Closed abortCause;
    /**
     * Whether the client's last frame came soon after the daemon was ready for it (then the next wait spins first). A new
     * connection has to show it first, so that a flood of connections that say nothing costs no spinning.
     */
    private boolean quick;
    private final Object budget = new Object();
    private int outstanding;
    private long held;

    /** The peer's credentials (SO_PEERCRED), read when the connection was accepted; null where the system has none. */
    private final UnixDomainPrincipal peer;

    Connection(RpcServer server, SocketChannel ch, UnixDomainPrincipal peer) {
        this.server = server;
        this.socket = ch;
        this.peer = peer;
        this.limits = server.limits();
        this.in = new FrameReader(ch, this::activity);
        this.out = new Outbox(ch, this);
    }

    void start() {
        Thread.ofVirtual().name("kern_loader-conn").start(this::run);
    }

    private void run() {
        OWN.set(this);
        RpcServer.Closed cause = RpcServer.Closed.CLIENT;
        try {
            if (greet()) {
                while (!closed && (cause = next()) == null) { }
            }
        } catch (IOException e) {
            cause = RpcServer.Closed.CLIENT; // the client went away, or a deadline closed the socket
        } catch (RuntimeException e) {
            server.loader().log().log(LogPriority.ERR, "rpc connection: " + e);
        } finally {
            out.flush(); // an error frame or a refused greeting goes out before the connection closes
            close(cause == null ? RpcServer.Closed.CLIENT : cause);
        }
    }

    // ---- reading ----

    private void activity() {
        long now = System.nanoTime();
        lastActivity = now;
        if (phase == Phase.IDLE) enter(Phase.FRAME, now);
    }

    private void enter(Phase p, long now) {
        phaseSince = now;
        phase = p;
    }

    private boolean greet() throws IOException {
        if (!in.fill(8)) return false;
        ByteBuffer h = in.take(8);
        if (h.getInt() != Rpc.MAGIC) return false;
        int clientVersion = h.getShort() & 0xffff;
        boolean privileged = server.policy().privileged(peer);
        int version = Math.min(clientVersion, Rpc.VERSION);
        boolean refused = version < Rpc.MIN_VERSION;
        this.version = version;
        if (!refused) session = new Session(server, this, privileged, peer == null ? "unknown peer" : "user " + peer.user().getName());
        RpcWriter w = new RpcWriter();
        w.i32(Rpc.MAGIC).u16(refused ? Rpc.VERSION : version).u16((privileged ? Rpc.HELLO_PRIVILEGED : 0) | (refused ? Rpc.HELLO_VERSION_REFUSED : 0))
                .i64(refused ? 0 : session.replyPort().id()).str(peer == null ? "?" : peer.user().getName());
        if ((refused ? Rpc.VERSION : version) >= 3) w.i32((int) ProcessHandle.current().pid()); // names the daemon to the client
        out.send(w.raw());
        return !refused;
    }

    /**
     * Reads and hands on the next frame.
     * @return null to go on, or why the connection ends
     */
    private RpcServer.Closed next() throws IOException {
        long idleSince = System.nanoTime();
        enter(Phase.IDLE, idleSince);
        if (quick && SPIN_NANOS > 0 && in.buffered() < 4) spin();
        if (!in.fill(4)) return RpcServer.Closed.CLIENT; // a clean end between frames
        quick = lastActivity - idleSince < 2 * SPIN_NANOS;
        int len = in.peekInt(0);
        if (len < 5 || len > Rpc.MAX_FRAME) {
            out.send(Response.errorFrame(0, 0, LoaderError.RPC_MALFORMED.code(), "frame length " + len + " outside 5.." + Rpc.MAX_FRAME));
            return RpcServer.Closed.MALFORMED; // framing is lost
        }
        in.fill(5);
        int code = in.peekByte(4);
        Op op = Op.of(code);
        if (op != null && len > op.maxFrame()) {
            out.send(Response.errorFrame(code, 0, LoaderError.RPC_MALFORMED.code(),
                    "frame length " + len + " exceeds " + op.maxFrame() + ", the most for " + op.word()));
            return RpcServer.Closed.MALFORMED; // refused before any of it is held; the rest is not worth reading
        }
        if (op == null || op.since() > version) {
            in.fill(9);
            int tag = in.peekInt(5);
            in.skip(4 + len); // streamed through the small buffer: an unknown body is never held
            out.send(Response.errorFrame(code, tag, LoaderError.RPC_UNKNOWN_OP.code(), op == null
                    ? "unknown operation 0x" + Integer.toHexString(code) + " (this kern_loader speaks protocol " + Rpc.VERSION + ")"
                    : "unknown operation 0x" + Integer.toHexString(code) + " (" + op.word() + " needs protocol " + op.since()
                      + "; this connection agreed on " + version + ")"));
            return null;
        }
        enter(Phase.WAITING, System.nanoTime()); // no deadline while the daemon, not the client, is the one behind
        if (!admit(len)) return RpcServer.Closed.CLIENT;
        enter(Phase.FRAME, System.nanoTime());
        in.fill(4 + len);
        in.take(4);
        ByteBuffer f = in.take(len);
        int tag = f.getInt(f.position() + 1);
        Request.Call call;
        try {
            call = Request.decode(f);
        } catch (LoaderException e) {
            release(len);
            out.send(Response.errorFrame(code, tag, e));
            return null;
        } finally {
            in.shrink();
        }
        requests++; // only this thread writes it
        int cost = len + allocationOf(call.request());
        if (cost > len && !grow(cost - len)) return RpcServer.Closed.CLIENT;
        session.handle(call.tag(), call.request(), () -> release(cost));
        return null;
    }

    /**
     * Reads without blocking, yielding the carrier between reads, until bytes come, the stream ends or {@link #SPIN_NANOS}
     * have passed. Meanwhile a write from another thread may find the channel non-blocking and retry; the channel is
     * blocking again before this returns. (Once a virtual thread has used it, the socket stays non-blocking in the
     * system; switching the channel's mode costs no system call.)
     */
    private void spin() throws IOException {
        long deadline = System.nanoTime() + SPIN_NANOS;
        socket.configureBlocking(false);
        try {
            while (in.readAvailable() == 0 && System.nanoTime() - deadline < 0) Thread.yield();
        } finally {
            socket.configureBlocking(true);
        }
    }

    /** What the daemon allocates for a request beyond its frame, at the client's word: a control's receive buffer. */
    private static int allocationOf(Request<?> q) {
        if (q instanceof Request.CtlRecv r) return Math.min(r.max(), Rpc.MAX_CTL_ALLOC);
        if (q instanceof Request.CtlGetopt g) return Math.min(Math.max(g.size(), 0), Rpc.MAX_CTL_ALLOC);
        return 0;
    }

    // ---- the budget of requests in the daemon ----

    /** Waits until a request of {@code bytes} fits the budget (one is always admitted); false if the connection closed. */
    private boolean admit(int bytes) {
        synchronized (budget) {
            while (!closed && outstanding > 0 && (outstanding >= RpcLimits.MAX_OUTSTANDING || held + bytes > limits.connectionBudget())) {
                if (!await()) return false;
            }
            if (closed) return false;
            outstanding++;
            held += bytes;
            return true;
        }
    }

    /** The request just admitted needs {@code bytes} more (allocated for it); waits while others hold them. */
    private boolean grow(int bytes) {
        synchronized (budget) {
            while (!closed && outstanding > 1 && held + bytes > limits.connectionBudget()) {
                if (!await()) return false;
            }
            held += bytes;
            return !closed;
        }
    }

    private boolean await() {
        try {
            budget.wait();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void release(int bytes) {
        synchronized (budget) {
            outstanding--;
            held -= bytes;
            budget.notifyAll();
        }
    }

    private int outstanding() {
        synchronized (budget) {
            return outstanding;
        }
    }

    // ---- Session.Out: what goes back ----

    @Override public int version() { return version; }

    /**
     * A response: to a version-3 client, a body longer than {@link Rpc#PART_SIZE} goes in PART frames and a last frame
     * with the response's op; to an older one, a response longer than a frame may be is replaced by an error.
     */
    @Override public void send(ByteBuffer frame) {
        int body = frame.remaining() - 9;
        if (body <= Rpc.PART_SIZE) {
            out.send(frame);
            return;
        }
        int p = frame.position();
        int op = frame.get(p + 4) & 0xff, tag = frame.getInt(p + 5);
        if (version < 3) {
            if (frame.remaining() - 4 <= Rpc.MAX_FRAME) out.send(frame);
            else out.send(Response.errorFrame(op & ~Rpc.RESPONSE, tag, LoaderError.INTERNAL.code(), "the answer, " + body
                    + " bytes, is longer than protocol " + version + " can carry; a client of protocol 3 gets it whole"));
            return;
        }
        int at = p + 9, end = p + frame.remaining();
        while (end - at > Rpc.PART_SIZE) {
            out.send(new RpcWriter(Rpc.PART, tag).raw(frame, at, Rpc.PART_SIZE).frame());
            at += Rpc.PART_SIZE;
        }
        out.send(new RpcWriter(op, tag).raw(frame, at, end - at).frame());
    }

    @Override public void event(ByteBuffer frame) { out.event(frame); }

    @Override public void start(String name, Runnable task) {
        Thread.ofVirtual().name(name).start(() -> {
            OWN.set(this);
            task.run();
        });
    }

    @Override public boolean listening(boolean on) {
        if (on == listener) return true;
        if (on && !server.addListener()) return false;
        if (!on) server.removeListener();
        listener = on;
        return true;
    }

    // ---- Outbox.Owner ----

    @Override public boolean isOwnThread() { return OWN.get() == this; }

    @Override public void writing(boolean started) {
        long now = System.nanoTime();
        if (!started) lastActivity = now;
        writingSince = started ? now : 0;
    }

    @Override public void failed(RpcServer.Closed cause) { abort(cause); }

    // ---- deadlines and closing ----

    /** The peer's user, as connections are counted per user at the limit (null if unknown). */
    Object peerUser() { return peer == null ? null : peer.user(); }

    /** When the connection last received bytes or finished writing a frame. */
    long lastActivity() { return lastActivity; }

    /**
     * Which connections make room first at the connection limit (lowest first; within a rank, the one silent longest):
     * 0 greeted and silent without ever having made a request; 1 stalled inside a frame; 2 idle after requests;
     * 3 waiting for the daemon's answers; 4 not yet greeted (a client that has just connected, most likely to speak
     * next). Listeners never make room.
     */
    int evictionRank() {
        return switch (phase) {
            case IDLE -> writingSince != 0 || outstanding() > 0 ? 3 : requests == 0 ? 0 : 2;
            case FRAME -> 1;
            case WAITING -> 3;
            case GREETING -> 4;
        };
    }

    boolean listener() { return listener; }

    /** The watchdog's look at this connection: closes it if its client is past a deadline. */
    void check(long now) {
        if (closed) return;
        long frame = TimeUnit.MILLISECONDS.toNanos(limits.frameTimeoutMillis());
        long w = writingSince;
        if (w != 0 && now - w > frame) {
            abort(RpcServer.Closed.WRITE_TIMEOUT);
            return;
        }
        switch (phase) {
            case GREETING -> { if (now - phaseSince > frame) abort(RpcServer.Closed.GREETING_TIMEOUT); }
            case FRAME -> { if (now - phaseSince > frame) abort(RpcServer.Closed.FRAME_TIMEOUT); }
            case IDLE -> {
                if (!listener && w == 0 && now - lastActivity > TimeUnit.MILLISECONDS.toNanos(limits.idleTimeoutMillis()) && outstanding() == 0)
                    abort(RpcServer.Closed.IDLE);
            }
            case WAITING -> { }
        }
    }

    /**
     * Closes the connection from another thread (watchdog, eviction, shutdown) without waiting: a version-3 client that
     * still reads is told why (a CLOSING event, given at most a second to leave), then the socket closes, which wakes the
     * reader, and the reader's thread takes the rest down.
     */
    void abort(RpcServer.Closed cause) {
        synchronized (this) {
            if (closed || abortCause != null) return;
            abortCause = cause;
        }
        Event.Closing closing = version >= 3 ? closing(cause) : null;
        if (closing == null) {
            shut();
            return;
        }
        out.event(closing.frame());
        Thread.ofVirtual().name("kern_loader-closing").start(() -> {
            out.flush(1_000);
            shut();
        });
    }

    /** What a version-3 client is told before the daemon closes it, or null where it would not read it. */
    private Event.Closing closing(RpcServer.Closed cause) {
        return switch (cause) {
            case SHUTDOWN -> new Event.Closing(LoaderError.SHUTTING_DOWN.code(), "shutting down");
            case EVICTED -> new Event.Closing(LoaderError.RPC_BUSY.code(), "closed to make room for a new connection (it serves at most "
                    + limits.maxConnections() + ")");
            case IDLE -> new Event.Closing(LoaderError.RPC_TIMEOUT.code(), "closed after " + duration(limits.idleTimeoutMillis()) + " idle");
            case FRAME_TIMEOUT -> new Event.Closing(LoaderError.RPC_TIMEOUT.code(), "closed: a frame not finished within "
                    + duration(limits.frameTimeoutMillis()));
            default -> null; // a client that does not read, or is not greeted, or went away
        };
    }

    private static String duration(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }

    private void shut() {
        out.close();
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        synchronized (budget) {
            budget.notifyAll();
        }
    }

    /** Takes the connection down: its session ends (controls closed, reply port dead, PORT_DEATH), the server forgets it. */
    private void close(RpcServer.Closed cause) {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        out.close();
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        synchronized (budget) {
            budget.notifyAll();
        }
        if (listener) server.removeListener();
        if (session != null) session.close();
        RpcServer.Closed why = abortCause;
        server.closed(this, why != null ? why : cause);
    }
}
