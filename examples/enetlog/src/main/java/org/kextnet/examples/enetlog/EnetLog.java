package org.kextnet.examples.enetlog;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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
 * enetlog, after Apple's enetlognke sample: an interface filter that logs one line per frame in and out on the
 * interfaces it is attached to, and a swallow mode that takes every frame, holds it and re-injects it from a
 * callout, in the order the frames came, to show how a filter keeps frames and gives them back.
 *
 * <p>Everything goes through the kernel control {@value #NAME} (privileged; one command per message, one reply each):
 * <pre>
 * attach IFACE          log the frames in and out on IFACE
 * detach IFACE          stop (held frames are re-injected first)
 * swallow IFACE [MS]    take every frame, hold it, re-inject it every MS ms (default 10), in order
 * log IFACE             log only again (held frames are released)
 * watch                 from now on this connection receives every new line as a message of its own
 * show [N]              the last N lines (default 20, at most 256) in one message
 * stats                 counters per interface
 * </pre>
 * Errors are replies that start with {@code error:}. On the packet path the filter only copies a few fields into a
 * ring; the lines are made by a callout every {@value #FORMAT_MILLIS} ms (docs/samples.md).
 */
public final class EnetLog implements KernelExtension, KernelControl {
    /** The kernel control's name, and the filters' name on each interface. */
    public static final String NAME = "enetlog";
    /** How often the callout turns records into lines. */
    static final long FORMAT_MILLIS = 20;
    /** Lines kept for {@code show}. */
    static final int HISTORY = 256;
    static final long DEFAULT_RELEASE_MILLIS = 10;

    final RecordRing ring = new RecordRing(8192);
    /** Records the ring had no room for. */
    final AtomicLong lost = new AtomicLong();
    /** Lines a watcher's queue had no room for. */
    private final AtomicLong unsent = new AtomicLong();
    private final Map<String, FrameTap> taps = new ConcurrentHashMap<>();
    private final Map<Integer, String> names = new ConcurrentHashMap<>();
    private final Set<Integer> watchers = ConcurrentHashMap.newKeySet();
    private final ArrayDeque<String> history = new ArrayDeque<>();
    /** The callout's record buffer (callouts run one at a time). */
    private final long[] record = new long[RecordRing.FIELDS];
    private final long baseMicros = System.currentTimeMillis() * 1000, baseNanos = System.nanoTime();
    private volatile Kpi kpi;
    private volatile ControlRef control;
    private int tag;

    @Override public int start(Kpi kpi) {
        this.kpi = kpi;
        tag = kpi.mbufs().tagIdFind("org.kextnet.examples.enetlog");
        try {
            control = kpi.controls().register(ControlParams.named(NAME).withFlags(ControlParams.FLAG_PRIVILEGED).withSizes(0, 64 * 1024), this);
        } catch (KpiException e) {
            return e.errno();
        }
        kpi.callouts().scheduleAtFixedRate(this::format, FORMAT_MILLIS, TimeUnit.MILLISECONDS);
        return 0;
    }

    // stop(Kpi) is the default: kpi.removeAll() detaches every filter (each one re-injects what it holds in its
    // detached callback), cancels the callouts, deregisters the control once no client is connected, and answers
    // EBUSY until all of it is gone.

    Kpi kpi() { return kpi; }

    long nowMicros() { return baseMicros + (System.nanoTime() - baseNanos) / 1000; }

    void tapDetached(FrameTap tap) { taps.remove(tap.ifp.name(), tap); }

    // ---- the callout: records to lines ----

    private void format() {
        while (ring.poll(record)) {
            String line = FrameLine.format(record, names.getOrDefault((int) (record[FrameTap.F_WHAT] >>> 40), "?"));
            synchronized (history) {
                if (history.size() == HISTORY) history.removeFirst();
                history.addLast(line);
            }
            for (Integer unit : watchers) {
                int r = kpi.controls().enqueueData(control, unit, ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
                if (r == Errno.ENOBUFS) unsent.incrementAndGet();  // the client is not reading: its line is lost, not queued here
                else if (r != 0) watchers.remove(unit);            // the client went away
            }
        }
    }

    // ---- the kernel control ----

    @Override public int connect(ControlConnection connection) { return 0; }

    @Override public void disconnect(ControlConnection connection) { watchers.remove(connection.unit()); }

    @Override public int send(ControlConnection connection, Mbuf m, int flags) {
        byte[] b = new byte[m.packetLength()];
        m.copyData(0, b, 0, b.length);
        m.free();
        String reply;
        try {
            reply = command(connection, new String(b, StandardCharsets.UTF_8).strip().split("\\s+"));
        } catch (KpiException e) {
            reply = "error: " + e.getMessage();
        }
        return kpi.controls().enqueueData(control, connection.unit(), ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
    }

    private String command(ControlConnection c, String[] w) throws KpiException {
        switch (w[0]) {
            case "attach" -> {
                Ifnet ifp = iface(w, 2);
                synchronized (this) {
                    if (taps.containsKey(ifp.name())) throw new KpiException(Errno.EEXIST, "already attached to " + ifp.name());
                    FrameTap tap = new FrameTap(this, ifp, tag);
                    names.put(ifp.index(), ifp.name());
                    tap.ref = kpi.interfaceFilters().attach(ifp, NAME, ProtocolFamily.PF_UNSPEC, Position.DEFAULT, tap);
                    taps.put(ifp.name(), tap);
                    tap.setMode(false, DEFAULT_RELEASE_MILLIS);
                }
                return "attached to " + ifp.name();
            }
            case "detach" -> {
                FrameTap tap = tap(w, 2);
                tap.ref.detach(); // its detached callback releases what it holds and forgets it
                return "detached from " + tap.ifp.name();
            }
            case "swallow" -> {
                FrameTap tap = tap(w, 3);
                long ms = w.length == 3 ? number(w[2], 1, 10_000) : DEFAULT_RELEASE_MILLIS;
                tap.setMode(true, ms);
                return "swallowing on " + tap.ifp.name() + ", re-injecting every " + ms + " ms";
            }
            case "log" -> {
                FrameTap tap = tap(w, 2);
                tap.setMode(false, tap.releaseMillis());
                return "logging on " + tap.ifp.name();
            }
            case "watch" -> {
                if (w.length != 1) throw usage();
                watchers.add(c.unit());
                return "watching";
            }
            case "show" -> {
                if (w.length > 2) throw usage();
                int n = w.length == 2 ? (int) number(w[1], 1, HISTORY) : 20;
                List<String> lines;
                synchronized (history) {
                    lines = new ArrayList<>(history);
                }
                return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
            }
            case "stats" -> {
                if (w.length != 1) throw usage();
                StringBuilder s = new StringBuilder();
                for (FrameTap tap : new TreeMap<>(taps).values()) s.append(tap.stats()).append('\n');
                return s.append("watchers ").append(watchers.size()).append(", records lost ").append(lost.get()).append(", lines not sent to watchers ").append(unsent.get()).toString();
            }
            default -> throw usage();
        }
    }

    // ---- the advertised port ----

    /** MAP enetlog: replies with the {@code stats} text; a message to the port loads the server if it is not loaded. */
    public int query(KernServ ks, PortMessage msg, int arg) {
        try {
            msg.reply(msg.id(), command(null, new String[] {"stats"}).getBytes(StandardCharsets.UTF_8));
        } catch (KpiException e) {
            return e.errno();
        }
        return 0;
    }

    private static KpiException usage() {
        return new KpiException(Errno.EINVAL, "usage: attach IFACE | detach IFACE | swallow IFACE [MS] | log IFACE | watch | show [N] | stats");
    }

    private Ifnet iface(String[] w, int words) throws KpiException {
        if (w.length != words) throw usage();
        Ifnet ifp = kpi.interfaces().findByName(w[1]);
        if (ifp == null) throw new KpiException(Errno.ENXIO, "no interface " + w[1]);
        return ifp;
    }

    /** The tap named by {@code w[1]}; {@code maxWords} bounds the command's length. */
    private FrameTap tap(String[] w, int maxWords) throws KpiException {
        if (w.length < 2 || w.length > maxWords) throw usage();
        FrameTap tap = taps.get(w[1]);
        if (tap == null) throw new KpiException(Errno.ENOENT, "not attached to " + w[1]);
        return tap;
    }

    private static long number(String s, long min, long max) throws KpiException {
        try {
            long v = Long.parseLong(s);
            if (v >= min && v <= max) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new KpiException(Errno.EINVAL, "'" + s + "' is not a number from " + min + " to " + max);
    }
}
