package org.kextnet.examples.capture;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.PortMessage;

/**
 * Packet capture inside the stack: interface filters that copy the frames a filter expression matches, up to a snap
 * length, to pcapng files (rotated by size) or, one line per frame, to a watching kernel-control client
 * ({@code kextnet tcpdump}).
 *
 * <p>Kernel control {@value #NAME} (privileged; one command per message, one reply each):
 * <pre>
 * watch IFACE [snaplen N] [filter EXPR]     this connection receives a line per frame until it disconnects
 * start IFACE file PATH [snaplen N] [rotate BYTES] [files N] [filter EXPR]    a pcapng file session
 * stop ID                                   ends a file session; the reply comes once the file is closed
 * list                                      the sessions and their counters
 * </pre>
 * The filter language is {@link FilterExpr}'s. Files are written on the server's own thread ({@code INIT init} in
 * the script gives the extension its {@link KernServ}): never on a packet thread, nor on the kernel's timer thread.
 */
public final class Capture implements KernelExtension, KernelControl {
    /** The control's and the advertised port's name. */
    public static final String NAME = "capture";
    static final int MAX_SESSIONS = 16, DEFAULT_SNAPLEN = 65535, MIN_SNAPLEN = 64;
    static final long PUMP_MILLIS = 20;

    private final Map<Integer, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private final long baseMicros = System.currentTimeMillis() * 1000, baseNanos = System.nanoTime();
    /** The frame buffer file writes copy into (they run one at a time, on the server's thread). */
    private final byte[] writeBuffer = new byte[65536];
    /** Where files are written: the server's thread once INIT ran; null before (file sessions refused). */
    private volatile Executor io;
    private volatile Kpi kpi;
    private volatile ControlRef control;
    private int tag;

    /** The extension as kern_loader makes it; its {@code init} routine gives it the server's thread for files. */
    public Capture() {}

    /** For tests without kern_loader: file writes run on {@code io}. */
    Capture(Executor io) { this.io = io; }

    /** INIT init: file writes go to the server's own thread ({@code kern_serv_callout}). */
    public int init(KernServ ks, int arg) {
        io = ks::callout;
        return 0;
    }

    @Override public int start(Kpi kpi) {
        this.kpi = kpi;
        tag = kpi.mbufs().tagIdFind("org.kextnet.examples.capture");
        try {
            control = kpi.controls().register(ControlParams.named(NAME).withFlags(ControlParams.FLAG_PRIVILEGED).withSizes(0, 256 * 1024), this);
        } catch (KpiException e) {
            return e.errno();
        }
        kpi.callouts().scheduleAtFixedRate(this::pump, PUMP_MILLIS, TimeUnit.MILLISECONDS);
        return 0;
    }

    /**
     * Removes every filter (each session then writes what it holds and closes its file), the callout and the
     * control, and answers EBUSY until all of that is done and no client is connected.
     */
    @Override public int stop(Kpi kpi) {
        int r = kpi.removeAll();
        return r == 0 && sessions.isEmpty() ? 0 : Errno.EBUSY;
    }

    int tag() { return tag; }

    long nowMicros() { return baseMicros + (System.nanoTime() - baseNanos) / 1000; }

    byte[] writeBuffer() { return writeBuffer; }

    /** Runs file work on the server's thread; inline if that thread is gone (the server is being unloaded). */
    void io(Runnable task) {
        try {
            io.execute(task);
        } catch (RuntimeException e) {
            task.run();
        }
    }

    /** A session finished; {@code reply} goes to the client on {@code unit}, if any. */
    void ended(Session s, int unit, String reply) {
        sessions.remove(s.id, s);
        if (unit >= 0 && reply != null) {
            kpi.controls().enqueueData(control, unit, ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
        }
    }

    /** The callout: lines to watchers, queued frames to the server's thread for the files. */
    private void pump() {
        for (Session s : sessions.values()) {
            if (s.live()) s.sendLines(kpi.controls(), control);
            else s.scheduleWrite();
        }
    }

    // ---- the kernel control ----

    @Override public int connect(ControlConnection connection) { return 0; }

    /** A watcher that leaves ends its session. */
    @Override public void disconnect(ControlConnection connection) {
        for (Session s : sessions.values()) if (s.live() && s.unit == connection.unit()) s.ref.detach();
    }

    @Override public int send(ControlConnection connection, Mbuf m, int flags) {
        byte[] b = new byte[m.packetLength()];
        m.copyData(0, b, 0, b.length);
        m.free();
        String reply;
        try {
            reply = command(connection.unit(), new String(b, StandardCharsets.UTF_8).strip());
        } catch (KpiException e) {
            reply = "error: " + e.getMessage();
        }
        if (reply == null) return 0; // stop: the reply comes when the file is closed
        return kpi.controls().enqueueData(control, connection.unit(), ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
    }

    private String command(int unit, String message) throws KpiException {
        List<String> w = Arrays.asList(message.split("\\s+"));
        switch (w.getFirst()) {
            case "watch", "start" -> {
                return open(unit, w);
            }
            case "stop" -> {
                if (w.size() != 2) throw usage();
                Session s = sessions.get((int) number(w.get(1), 1, Integer.MAX_VALUE, "a session id"));
                if (s == null || s.live()) throw new KpiException(Errno.ENOENT, "no file session " + w.get(1));
                if (!s.stop(unit)) throw new KpiException(Errno.EALREADY, "session " + s.id + " is stopping");
                return null;
            }
            case "list" -> {
                if (w.size() != 1) throw usage();
                StringBuilder b = new StringBuilder();
                for (Session s : new TreeMap<>(sessions).values()) b.append(s.describe()).append('\n');
                return b.isEmpty() ? "no sessions" : b.toString().strip();
            }
            default -> throw usage();
        }
    }

    /** watch and start: the interface, the options, then the filter; the filter attached last, once all is well. */
    private String open(int unit, List<String> w) throws KpiException {
        boolean watch = w.getFirst().equals("watch");
        if (w.size() < 2) throw usage();
        Ifnet ifp = kpi.interfaces().findByName(w.get(1));
        if (ifp == null) throw new KpiException(Errno.ENXIO, "no interface " + w.get(1));
        int snapLength = DEFAULT_SNAPLEN, files = 0;
        long rotate = 0;
        Path path = null;
        List<String> filterWords = List.of();
        for (int i = 2; i < w.size(); i += 2) {
            String key = w.get(i);
            if (key.equals("filter")) {
                filterWords = tokens(String.join(" ", w.subList(i + 1, w.size())));
                break;
            }
            if (i + 1 == w.size()) throw new KpiException(Errno.EINVAL, "'" + key + "' needs a value");
            String value = w.get(i + 1);
            switch (watch ? "watch " + key : key) {
                case "watch snaplen", "snaplen" -> snapLength = (int) number(value, MIN_SNAPLEN, 65535, "a snap length");
                case "file" -> path = Path.of(value);
                case "rotate" -> rotate = number(value, 4096, Long.MAX_VALUE, "a file size in bytes");
                case "files" -> files = (int) number(value, 1, 1000, "a number of files");
                default -> throw new KpiException(Errno.EINVAL, "unknown option '" + key + "'" + (watch ? " (snaplen, filter)" : " (file, snaplen, rotate, files, filter)"));
            }
        }
        FilterExpr filter;
        try {
            filter = FilterExpr.parse(filterWords);
        } catch (FilterExpr.Invalid e) {
            throw new KpiException(Errno.EINVAL, e.getMessage());
        }
        String filterText = String.join(" ", filterWords);
        int id;
        Session s;
        synchronized (this) {
            if (sessions.size() >= MAX_SESSIONS) throw new KpiException(Errno.EBUSY, MAX_SESSIONS + " sessions already");
            if (watch && sessions.values().stream().anyMatch(x -> x.live() && x.unit == unit)) {
                throw new KpiException(Errno.EBUSY, "this connection watches already");
            }
            id = ids.incrementAndGet();
            if (watch) {
                s = Session.watch(this, id, ifp, snapLength, filter, filterText, unit);
            } else {
                if (path == null) throw new KpiException(Errno.EINVAL, "start needs 'file PATH'");
                if (!path.isAbsolute()) throw new KpiException(Errno.EINVAL, "'" + path + "' is not an absolute path");
                if (Files.isDirectory(path)) throw new KpiException(Errno.EINVAL, path + " is a directory");
                if (io == null) throw new KpiException(Errno.EOPNOTSUPP, "files are written on the server's thread: load capture with its script (INIT init)");
                try {
                    s = Session.file(this, id, ifp, snapLength, filter, filterText, path, rotate, files);
                } catch (IOException e) {
                    throw new KpiException(Session.errnoOf(e), "cannot create " + path + ": " + e.getMessage());
                }
            }
            s.ref = kpi.interfaceFilters().attach(ifp, NAME + "." + id, ProtocolFamily.PF_UNSPEC, Position.DEFAULT, s);
            sessions.put(id, s);
        }
        String what = "on " + ifp.name() + " (snaplen " + snapLength + (filterText.isEmpty() ? "" : ", filter \"" + filterText + "\"") + ")";
        return watch ? "watching " + what : "session " + id + " " + what + " to " + path;
    }

    /** The filter's words, with parentheses and the operators written without blanks made words of their own. */
    static List<String> tokens(String filter) {
        String spaced = filter.replace("(", " ( ").replace(")", " ) ").replace("&&", " && ").replace("||", " || ").replace("!", " ! ");
        List<String> out = new ArrayList<>();
        for (String t : spaced.strip().split("\\s+")) if (!t.isEmpty()) out.add(t);
        return out;
    }

    private static KpiException usage() {
        return new KpiException(Errno.EINVAL, "usage: watch IFACE [snaplen N] [filter EXPR] | start IFACE file PATH [snaplen N]"
                + " [rotate BYTES] [files N] [filter EXPR] | stop ID | list");
    }

    private static long number(String s, long min, long max, String what) throws KpiException {
        try {
            long v = Long.parseLong(s);
            if (v >= min && v <= max) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new KpiException(Errno.EINVAL, "'" + s + "' is not " + what + " (" + min + ".." + max + ")");
    }

    // ---- the advertised port ----

    /** MAP capture: replies with the {@code list} text. */
    public int query(KernServ ks, PortMessage msg, int arg) {
        try {
            msg.reply(msg.id(), command(-1, "list").getBytes(StandardCharsets.UTF_8));
        } catch (KpiException e) {
            return e.errno();
        }
        return 0;
    }
}
