package org.kextnet.kernel.stat;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The kernel's protocol counters. Each thread that runs packet code counts into its own
 * {@link StatCells} without atomics; a read sums every thread's cells.
 */
public final class Stats {
    private final List<StatCells> cells = new CopyOnWriteArrayList<>();
    private final ThreadLocal<StatCells> local = ThreadLocal.withInitial(this::newCells);

    /** The calling thread's cells (created on first use). */
    public StatCells local() { return local.get(); }

    /** New cells for a packet thread that keeps them itself. */
    public StatCells newCells() {
        StatCells c = new StatCells();
        cells.add(c);
        return c;
    }

    /** Counts one event on the calling thread; for cold paths (drops, control traffic). */
    public void count(Stat s) { local().add(s, 1); }

    public long get(Stat s) {
        long n = 0;
        for (StatCells c : cells) n += c.get(s);
        return n;
    }

    /** Interface counter {@code slot} summed over every thread (see net.IfCounters). */
    public long interfaceCounter(int slot) {
        long n = 0;
        for (StatCells c : cells) n += c.getInterface(slot);
        return n;
    }

    /** A snapshot of every counter. */
    public Map<Stat, Long> snapshot() {
        Map<Stat, Long> m = new EnumMap<>(Stat.class);
        for (Stat s : Stat.all()) m.put(s, get(s));
        return m;
    }

    /** {@code netstat -s}-like text: per protocol, the non-zero counters (all if {@code all}). */
    public String format(boolean all) {
        StringBuilder b = new StringBuilder();
        String proto = null;
        List<String> lines = new ArrayList<>();
        for (Stat s : Stat.all()) {
            if (!s.protocol().equals(proto)) {
                flush(b, proto, lines);
                proto = s.protocol();
            }
            long v = get(s);
            if (v != 0 || all) lines.add("\t" + v + " " + s.description());
        }
        flush(b, proto, lines);
        return b.toString();
    }

    private static void flush(StringBuilder b, String proto, List<String> lines) {
        if (proto != null && !lines.isEmpty()) {
            b.append(proto).append(":\n");
            for (String l : lines) b.append(l).append('\n');
        }
        lines.clear();
    }
}
