package org.kextnet.examples.tcplog;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketAttachment;
import org.kextnet.kpi.socketfilter.SocketEvent;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;
import org.kextnet.kpi.socketfilter.SocketFilterRef;

/**
 * tcplog, after Apple's tcplognke: a global socket filter on TCP over IPv4 that keeps a {@link Record} per socket
 * (its kind, addresses, bytes and data calls in and out, when it was made, connected and ended, and its state as the
 * socket's events move it), and a kernel control, {@value #NAME}, to read, flush and bound the records.
 *
 * <p>The records are bounded: at most {@code limit} (1024 unless set), counting the live ones. A new socket when the
 * log is full pushes out the record that finished (its socket detached) longest ago, counted as {@code dropped};
 * when every record is live the socket is not logged ({@code attach} refuses it, counted as {@code unlogged}), and
 * the socket goes on without the filter.
 *
 * <p><b>Delay mode</b> ({@code delay MS}) shows the rules for data a filter takes and gives back: {@code data_in}
 * swallows received data ({@link Errno#EJUSTRETURN}), tags it with the extension's mbuf tag, and a callout
 * re-injects it MS milliseconds later through every filter of the socket (resume-after 0), this one included, which
 * recognises its tag and lets it through without counting or holding it again. Once a socket has data held, every
 * later piece is held behind it, so the bytes keep their order, also after the mode is turned off.
 *
 * <p>Control commands (text, one per message; docs/samples.md): {@code list} (one message per record, then
 * {@code end N}), {@code stats}, {@code flush} (forget the finished records), {@code limit N}, {@code delay MS} or
 * {@code delay off}. An answer that does not fit in the client's queue waits and follows as the client reads.
 */
public final class TcpLog implements KernelExtension, SocketFilter, KernelControl {
    /** The control's and the filter's name. */
    public static final String NAME = "tcplog";
    /** The filter's handle: tcplognke's for IPv4. */
    public static final int HANDLE = 0xBABABABA;
    /** The mbuf tag's name (its id comes from {@code tagIdFind}) and type. */
    static final String TAG = "org.kextnet.examples.tcplog";
    static final int TAG_SEEN = 1;
    /** The log's bounds. */
    public static final int DEFAULT_LIMIT = 1024, MAX_LIMIT = 65536;
    /** Longest delay the delay mode takes, in milliseconds. */
    static final long MAX_DELAY_MS = 60_000;
    /** Room for a client's answers: a few hundred records before the rest waits for the client to read. */
    private static final int RECV_SIZE = 64 * 1024;

    private final InstantSource clock;
    private final AtomicLong ids = new AtomicLong();
    /** Guards the two lists and the limit. */
    private final Object log = new Object();
    private final LinkedHashSet<Record> live = new LinkedHashSet<>();
    private final ArrayDeque<Record> finished = new ArrayDeque<>();
    private int limit = DEFAULT_LIMIT;
    private final AtomicLong dropped = new AtomicLong(), unlogged = new AtomicLong(), flushed = new AtomicLong(),
            held = new AtomicLong(), reinjected = new AtomicLong();
    /** Milliseconds received data is held for; 0: off. */
    private volatile long delayMs;

    private volatile Kpi kpi;
    private volatile int tag;
    private volatile SocketFilterRef filter;
    private volatile ControlRef ctl;
    private volatile boolean unregistered;

    /** The extension as kern_loader makes it: times from the system's clock. */
    public TcpLog() { this(InstantSource.system()); }

    /** With the clock the records' times come from (a test's fixed clock). */
    public TcpLog(InstantSource clock) { this.clock = clock; }

    @Override public int start(Kpi kpi) {
        this.kpi = kpi;
        tag = kpi.mbufs().tagIdFind(TAG);
        try {
            filter = kpi.socketFilters().register(new SocketFilterParams(HANDLE,
                    SocketFilterParams.FLAG_GLOBAL | SocketFilterParams.FLAG_EXTENDED, NAME,
                    ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP), this);
            ctl = kpi.controls().register(ControlParams.named(NAME).withSizes(0, RECV_SIZE), this);
        } catch (KpiException e) {
            kpi.removeAll();
            return e.errno();
        }
        kpi.log().log(System.Logger.Level.INFO, "logging TCP connections; control " + NAME);
        return 0;
    }

    /**
     * The first call detaches the filter from every socket (their detach callbacks free held data) and deregisters
     * the control; every call answers EBUSY until the filter's {@code unregistered} has run, the control is gone (not
     * while a client is connected) and no callout is left.
     */
    @Override public int stop(Kpi kpi) {
        SocketFilterRef f = filter;
        if (f != null) f.unregisterAndDetachAll(); // idempotent
        ControlRef c = ctl;
        if (c != null && kpi.controls().deregister(c) == 0) ctl = null;
        int rest = kpi.removeAll(); // pending re-injection callouts
        return unregistered && ctl == null && rest == 0 ? 0 : Errno.EBUSY;
    }

    // ---- the socket filter ----

    /** A new TCP socket: an application's, or one a listener made for a connection coming in. */
    @Override public int attach(SocketAttachment a) {
        Record r = new Record(ids.incrementAndGet(), clock.instant());
        synchronized (log) {
            if (live.size() + finished.size() >= limit) {
                if (finished.isEmpty()) {
                    unlogged.incrementAndGet();
                    return Errno.ENOBUFS; // not logged: the socket goes on without this filter
                }
                finished.poll();
                dropped.incrementAndGet();
            }
            live.add(r);
        }
        Socket so = a.socket();
        if (so.peerName() != null) { // made by a listener for a SYN (sonewconn): it has its peer already
            r.kind = Record.Kind.IN;
            r.remote = so.peerName();
            r.local = so.sockName();
        }
        a.setCookie(r);
        return 0;
    }

    /** The socket is gone (or the filter is being removed): the record is finished; held data is freed. */
    @Override public void detach(SocketAttachment a) {
        if (!(a.cookie() instanceof Record r)) return;
        synchronized (r) {
            Record.Held h;
            while ((h = r.held.poll()) != null) h.data.free();
        }
        if (r.stopped == null) r.stopped = clock.instant();
        r.state = Record.State.CLOSED;
        synchronized (log) {
            if (live.remove(r)) finished.add(r);
        }
    }

    @Override public void unregistered(int handle) { unregistered = true; }

    @Override public void notify(SocketAttachment a, int event, int param) {
        if (!(a.cookie() instanceof Record r)) return;
        switch (event) {
            case SocketEvent.CONNECTING -> r.state = Record.State.CONNECTING;
            case SocketEvent.CONNECTED -> {
                r.state = Record.State.CONNECTED;
                r.started = clock.instant();
                r.local = a.socket().sockName();
                r.remote = a.socket().peerName();
            }
            case SocketEvent.DISCONNECTING -> r.state = Record.State.DISCONNECTING;
            case SocketEvent.DISCONNECTED -> {
                r.state = Record.State.DISCONNECTED;
                r.stopped = clock.instant();
            }
            default -> { } // bound, shutdown, cantrecvmore, cantsendmore, flush-read, closing: the state stays
        }
    }

    @Override public int connectOut(SocketAttachment a, SockAddr to) {
        if (a.cookie() instanceof Record r) {
            r.kind = Record.Kind.OUT;
            r.remote = to.copy();
        }
        return 0;
    }

    @Override public int listen(SocketAttachment a) {
        if (a.cookie() instanceof Record r) {
            r.kind = Record.Kind.LISTEN;
            r.state = Record.State.LISTENING;
            r.local = a.socket().sockName();
        }
        return 0;
    }

    @Override public int accept(SocketAttachment a, Socket newSocket, SockAddr local, SockAddr remote) {
        if (a.cookie() instanceof Record r) {
            r.kind = Record.Kind.IN;
            r.local = local.copy();
            r.remote = remote.copy();
        }
        return 0;
    }

    @Override public int dataOut(SocketAttachment a, SockAddr to, Mbuf data, Mbuf control, int flags) {
        if (a.cookie() instanceof Record r) {
            r.bytesOut.addAndGet(data.packetLength());
            r.packetsOut.incrementAndGet();
        }
        return 0;
    }

    /**
     * Counts received data the first time it passes; in delay mode takes it, tags it and has a callout give it back.
     * While earlier data is held, later data waits behind it (given back right after it, whatever the mode is now).
     * Data carrying the tag is that data coming round again: it passes untouched.
     */
    @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
        if (data.tagFind(tag, TAG_SEEN) != null) return 0; // re-injected by us: seen, counted, not to be held again
        if (!(a.cookie() instanceof Record r)) return 0;
        r.bytesIn.addAndGet(data.packetLength());
        r.packetsIn.incrementAndGet();
        long delay = delayMs;
        synchronized (r) {
            if (delay == 0 && r.held.isEmpty()) return 0;
            if (data.tagAllocate(tag, TAG_SEEN, 1) == null) return 0; // cannot tag: let it through rather than loop
            Record.Held h = new Record.Held(data, delay == 0); // untimed: due as soon as what is ahead has gone
            if (delay > 0) {
                Socket so = a.socket();
                try {
                    kpi.callouts().schedule(() -> ripe(so, r, h), delay, TimeUnit.MILLISECONDS);
                } catch (RuntimeException unloading) {
                    h.due = true; // no callout any more: it goes with what is ahead of it, or now
                    if (r.held.isEmpty()) return 0;
                }
            }
            if (control != null) control.free(); // TCP passes none; what we took is ours to free
            r.held.add(h);
            held.incrementAndGet();
            return Errno.EJUSTRETURN;
        }
    }

    /**
     * A callout: {@code h}'s time has come. Gives the socket back, in order, the held data that is due from the
     * oldest on, through every filter (this one sees the tag). Data with a shorter delay than what is ahead of it
     * waits for it. Under the record's lock, so that data arriving meanwhile queues behind instead of overtaking.
     */
    private void ripe(Socket so, Record r, Record.Held h) {
        synchronized (r) {
            h.due = true;
            Record.Held head;
            while ((head = r.held.peek()) != null && head.due) {
                r.held.poll();
                reinjected.incrementAndGet();
                // On an error (the socket is closed) the data is still ours.
                if (kpi.socketFilters().injectDataIn(so, 0, null, head.data, null, 0) != 0) head.data.free();
            }
        }
    }

    // ---- the kernel control ----

    /** A client's answers not yet queued to it (the client's queue was full), oldest first. */
    private static final class Outbox {
        final ArrayDeque<byte[]> pending = new ArrayDeque<>();
    }

    @Override public int connect(ControlConnection connection) {
        connection.setUnitInfo(new Outbox());
        return 0;
    }

    /** A text command; the answer is queued to that client. */
    @Override public int send(ControlConnection connection, Mbuf m, int flags) {
        byte[] b = new byte[m.packetLength()];
        m.copyData(0, b, 0, b.length);
        m.free();
        List<String> answer = command(new String(b, StandardCharsets.UTF_8));
        Outbox out = (Outbox) connection.unitInfo();
        synchronized (out) {
            for (String line : answer) out.pending.add(line.getBytes(StandardCharsets.UTF_8));
        }
        return drain(connection);
    }

    /** The client read: what waited for room goes now. */
    @Override public void received(ControlConnection connection, int flags) { drain(connection); }

    private int drain(ControlConnection connection) {
        ControlRef c = ctl;
        if (c == null) return Errno.ENOTCONN;
        Outbox out = (Outbox) connection.unitInfo();
        synchronized (out) {
            byte[] next;
            while ((next = out.pending.peek()) != null) {
                int e = kpi.controls().enqueueData(c, connection.unit(), ByteBuffer.wrap(next), ControlKpi.DATA_EOR);
                if (e == Errno.ENOBUFS) return 0; // the rest follows from received()
                if (e != 0) {
                    out.pending.clear();
                    return e;
                }
                out.pending.poll();
            }
        }
        return 0;
    }

    /**
     * Runs one command line and returns its answer, one message per element: what the control answers, and a way to
     * drive the extension from code in the same JVM.
     */
    public List<String> command(String line) {
        String[] w = line.strip().split("\\s+");
        return switch (w[0]) {
            case "list" -> w.length == 1 ? list() : error("list takes no argument");
            case "stats" -> w.length == 1 ? List.of(stats()) : error("stats takes no argument");
            case "flush" -> w.length == 1 ? List.of("flushed " + flush()) : error("flush takes no argument");
            case "limit" -> w.length == 2 ? limit(w[1]) : error("limit wants one number from 1 to " + MAX_LIMIT);
            case "delay" -> w.length == 2 ? delay(w[1]) : error("delay wants milliseconds (1 to " + MAX_DELAY_MS + ") or off");
            default -> error("unknown command '" + line.strip() + "' (list, stats, flush, limit N, delay MS|off)");
        };
    }

    private static List<String> error(String message) { return List.of("error: " + message); }

    /** Every record, live and finished, oldest first, then {@code end N}. */
    List<String> list() {
        List<Record> all;
        synchronized (log) {
            all = new ArrayList<>(live.size() + finished.size());
            all.addAll(live);
            all.addAll(finished);
        }
        all.sort(Comparator.comparingLong(r -> r.id));
        List<String> lines = new ArrayList<>(all.size() + 1);
        for (Record r : all) lines.add(r.line());
        lines.add("end " + all.size());
        return lines;
    }

    /** The log's counters as one line of {@code key=value} words. */
    public String stats() {
        int l, a, f;
        synchronized (log) {
            l = limit;
            a = live.size();
            f = finished.size();
        }
        long d = delayMs;
        return "records=" + (a + f) + " live=" + a + " finished=" + f + " limit=" + l + " dropped=" + dropped.get()
                + " unlogged=" + unlogged.get() + " flushed=" + flushed.get() + " delay=" + (d == 0 ? "off" : d + "ms")
                + " held=" + held.get() + " reinjected=" + reinjected.get();
    }

    /** Forgets the finished records; returns how many. */
    int flush() {
        int n;
        synchronized (log) {
            n = finished.size();
            finished.clear();
        }
        flushed.addAndGet(n);
        return n;
    }

    private List<String> limit(String arg) {
        int n;
        try {
            n = Integer.parseInt(arg);
        } catch (NumberFormatException e) {
            n = 0;
        }
        if (n < 1 || n > MAX_LIMIT) return error("limit wants one number from 1 to " + MAX_LIMIT + ", not '" + arg + "'");
        int out = 0;
        synchronized (log) {
            limit = n;
            while (live.size() + finished.size() > n && !finished.isEmpty()) {
                finished.poll();
                out++;
            }
        }
        dropped.addAndGet(out);
        return List.of("limit " + n + (out > 0 ? ", dropped " + out : ""));
    }

    private List<String> delay(String arg) {
        if (arg.equals("off")) {
            delayMs = 0;
            return List.of("delay off");
        }
        long ms;
        try {
            ms = Long.parseLong(arg.endsWith("ms") ? arg.substring(0, arg.length() - 2) : arg);
        } catch (NumberFormatException e) {
            ms = 0;
        }
        if (ms < 1 || ms > MAX_DELAY_MS) return error("delay wants milliseconds (1 to " + MAX_DELAY_MS + ") or off, not '" + arg + "'");
        delayMs = ms;
        return List.of("delay " + ms + "ms");
    }
}
