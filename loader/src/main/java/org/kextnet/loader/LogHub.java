package org.kextnet.loader;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * kern_loader's log: status strings with a syslog level, kept in a bounded ring and sent to every
 * listener ({@code kern_loader_status_port}; kl_util -L and the status of mutating kl_util commands).
 */
public final class LogHub {
    /** One log line. */
    public record Line(long millis, int level, String text) {
        @Override public String toString() { return Instant.ofEpochMilli(millis) + " " + text; }
    }

    private static final int RING = 1024;
    private final ArrayDeque<Line> ring = new ArrayDeque<>();
    private final CopyOnWriteArrayList<Consumer<Line>> listeners = new CopyOnWriteArrayList<>();
    private volatile PrintStream echo;
    private volatile int echoLevel = 6;

    /** Also prints lines at or below {@code level} to {@code out} (the daemon's log file or terminal). */
    public void echoTo(PrintStream out, int level) {
        this.echo = out;
        this.echoLevel = level;
    }

    public void log(int level, String text) {
        Line l = new Line(System.currentTimeMillis(), level, text);
        synchronized (ring) {
            if (ring.size() == RING) ring.removeFirst();
            ring.addLast(l);
        }
        PrintStream out = echo;
        if (out != null && level <= echoLevel) out.println("kern_loader: " + text);
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
