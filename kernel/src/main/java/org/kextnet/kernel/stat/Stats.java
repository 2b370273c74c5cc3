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
    /** The cells of the threads that count now; a read sums them with {@link #shared}. */
    private final List<StatCells> cells = new CopyOnWriteArrayList<>();
    /** Counts of threads that stopped, and cold counts from any thread; changed and read under this object's lock. */
    private final StatCells shared = new StatCells(this);

    /**
     * New cells for a thread that counts on the packet path. Give them back with {@link #retire} when the
     * thread stops: the registry, and the cost of a read, grow with the threads counting now, not with every
     * thread that ever counted.
     */
    public StatCells newCells() {
        StatCells c = new StatCells(this);
        cells.add(c);
        return c;
    }

    /** Folds {@code c}'s counts into the shared cells and forgets {@code c}; its owner must not count any more. */
    public synchronized void retire(StatCells c) {
        if (c.owner() != this || !cells.remove(c)) throw new IllegalArgumentException("not live cells of this registry");
        shared.addAll(c);
    }

    /** How many threads' cells a read sums now. */
    public int liveCells() { return cells.size(); }

    /** The cells of the thread's packet context while it holds one ({@link #bind}), else null. */
    private final ThreadLocal<StatCells> bound = new ThreadLocal<>();

    /**
     * Makes {@code c} the calling thread's cells until {@link #unbind}: code that counts without a packet context in
     * hand ({@link #add}, TCP's engine) then counts into them without a lock. The packet contexts bind their cells
     * while a thread holds them.
     */
    public void bind(StatCells c) { bound.set(c); }

    /** Ends {@link #bind}; the thread's entry stays (empty), so binding again allocates nothing. */
    public void unbind() { bound.set(null); }

    /** Counts one event from any thread; for cold paths (drops, control traffic). */
    public void count(Stat s) { add(s, 1); }

    /** Adds to a counter from any thread: into the cells it holds if any, else into the shared cells under the lock. */
    public void add(Stat s, long n) {
        StatCells c = bound.get();
        if (c != null) {
            c.add(s, n);
            return;
        }
        synchronized (this) {
            shared.add(s, n);
        }
    }

    public synchronized long get(Stat s) {
        long n = shared.get(s);
        for (StatCells c : cells) n += c.get(s);
        return n;
    }

    /** Interface counter {@code slot} summed over every thread (see net.IfCounters). */
    public synchronized long interfaceCounter(int slot) {
        long n = shared.getInterface(slot);
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
