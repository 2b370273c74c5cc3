package org.kextnet.loader;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.kextnet.kpi.server.LogPriority;

/**
 * kern_loader's log: status strings with a syslog level, kept in a bounded ring and sent to every
 * listener ({@code kern_loader_status_port}; kl_util -L and the status of mutating kl_util commands).
 */
public final class LogHub {
    /** One log line. */
    public record Line(long millis, LogPriority level, String text) {
        @Override public String toString() { return Instant.ofEpochMilli(millis) + " " + text; }
    }

    private static final int RING = 1024;
    private final ArrayDeque<Line> ring = new ArrayDeque<>();
    private final CopyOnWriteArrayList<Consumer<Line>> listeners = new CopyOnWriteArrayList<>();
    private volatile PrintStream echo;
    private volatile LogPriority echoLevel = LogPriority.INFO;
    private volatile boolean stamped;

    /** Also prints lines at {@code level} or more urgent to {@code out} (a terminal: the text only). */
    public void echoTo(PrintStream out, LogPriority level) { echoTo(out, level, false); }

    /**
     * Also prints lines at {@code level} or more urgent to {@code out}; {@code stamped}, each starts with its time
     * (UTC, ISO 8601) and priority, as the daemon's log file wants: {@code 2026-12-07T06:41:02.123Z notice kern_loader: ...}.
     */
    public void echoTo(PrintStream out, LogPriority level, boolean stamped) {
        this.stamped = stamped;
        this.echoLevel = level;
        this.echo = out;
    }

    public void log(LogPriority level, String text) {
        Line l = new Line(System.currentTimeMillis(), level, text);
        synchronized (ring) {
            if (ring.size() == RING) ring.removeFirst();
            ring.addLast(l);
        }
        PrintStream out = echo;
        if (out != null && level.atLeast(echoLevel)) {
            out.println(stamped ? Instant.ofEpochMilli(l.millis()) + " " + level.label() + " kern_loader: " + text : "kern_loader: " + text);
        }
        for (Consumer<Line> c : listeners) {
            try {
                c.accept(l);
            } catch (RuntimeException ignored) {
                // a listener that fails (closed connection) is removed by its owner
            }
        }
    }

    public void addListener(Consumer<Line> c) { listeners.add(c); }

    public void removeListener(Consumer<Line> c) { listeners.remove(c); }

    /** The most recent lines, oldest first. */
    public List<Line> recent() {
        synchronized (ring) {
            return new ArrayList<>(ring);
        }
    }
}
