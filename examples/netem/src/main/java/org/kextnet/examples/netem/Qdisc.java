package org.kextnet.examples.netem;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.kextnet.kpi.Callouts;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * One direction of one interface under an {@link Impairment}: decides each frame's fate from the seeded draws and
 * holds the frames that wait, in the order they leave, until a callout re-injects them.
 *
 * <p>Time: an extension has no clock of its own but its callouts, so the queue keeps one: while it holds frames a
 * callout runs every {@link #TICK_NANOS} and moves {@link #now} by that much, then releases every frame whose time
 * has come. The callouts run on the kernel's timer (its manual clock in a test), so delays are the kernel's time,
 * to the millisecond. When nothing is held the callout stops and the queue's time stands still, which changes
 * nothing: every time it keeps is relative to it.
 *
 * <p>Threads: frames come in on packet threads and leave on the timer thread; this object's monitor guards its state.
 * Frames are re-injected with no lock held.
 */
final class Qdisc {
    /** The callout's period: the resolution of delays. */
    static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    /** A held frame, from its link header (as re-injection wants it), and when it leaves. */
    record Held(Mbuf frame, int protocolFamily, long departure) {}

    /** Re-injects frames in one direction: the interface's input or its raw output. */
    interface Sender {
        void send(Held h);
    }

    private final Callouts callouts;
    private final Sender sender;
    private Impairment cfg;
    private SplittableRandom random;
    private final ArrayDeque<Held> held = new ArrayDeque<>();
    /** The queue's time (see the class comment), when the link is free again (rate), when the last frame leaves. */
    private long now, linkFree, lastDeparture;
    private Callouts.Callout ticker;
    private long seen, passed, delayed, lost, duplicated, reordered, overflow, released;

    Qdisc(Callouts callouts, Sender sender, Impairment cfg) {
        this.callouts = callouts;
        this.sender = sender;
        configure(cfg);
    }

    /** Replaces the impairment: the draws start again from its seed, the counters from zero; held frames keep their times. */
    synchronized void configure(Impairment c) {
        cfg = c;
        random = new SplittableRandom(c.seed());
        seen = passed = delayed = lost = duplicated = reordered = overflow = released = 0;
    }

    /**
     * A frame in this direction, not seen before: passes (0), or is taken (EJUSTRETURN) because it is lost (freed),
     * held, or beyond the limit (freed). Four draws per frame, always, so that each share's draws are the same whatever
     * the others are.
     *
     * @param headerLength the link header in front of the data (input frames: a held frame gets it back)
     */
    synchronized int enqueue(Mbuf m, int protocolFamily, int headerLength) {
        seen++;
        double lossDraw = random.nextDouble(), dupDraw = random.nextDouble(), reorderDraw = random.nextDouble(),
                jitterDraw = random.nextDouble();
        if (lossDraw < cfg.loss()) {
            lost++;
            m.free();
            return Errno.EJUSTRETURN;
        }
        boolean dup = dupDraw < cfg.duplicate();
        if (!cfg.holds() || reorderDraw < cfg.reorder()) {
            if (cfg.holds()) reordered++; // sent ahead of the frames held
            passed++;
            if (dup) holdCopy(m, protocolFamily, headerLength, Math.max(now, lastDeparture)); // the copy leaves at the next tick
            return 0;
        }
        if (held.size() >= cfg.limit()) {
            overflow++;
            m.free();
            return Errno.EJUSTRETURN;
        }
        if (!ticking()) { // the extension is being unloaded: nothing would release it
            passed++;
            return 0;
        }
        m.prepend(headerLength); // ours now: from its link header, as it will be re-injected
        long d = cfg.delayNanos() + Math.round((jitterDraw * 2 - 1) * cfg.jitterNanos());
        long departure = now + Math.max(0, d);
        if (cfg.rateBits() > 0) {
            long tx = (long) Math.ceil(m.packetLength() * 8 * 1e9 / cfg.rateBits()); // serialisation at the link's rate
            long start = Math.max(departure, linkFree);
            linkFree = start + tx;
            departure = linkFree;
        }
        departure = Math.max(departure, lastDeparture); // jitter does not reorder
        lastDeparture = departure;
        held.add(new Held(m, protocolFamily, departure));
        delayed++;
        if (dup) holdCopy(m, protocolFamily, 0, departure);
        return Errno.EJUSTRETURN;
    }

    /**
     * Holds a copy of {@code m} (tags and all), from its link header ({@code headerLength} bytes in front of its data),
     * to leave at {@code departure}, if there is room and a buffer. {@code m} is left as it was.
     */
    private void holdCopy(Mbuf m, int protocolFamily, int headerLength, long departure) {
        if (held.size() >= cfg.limit()) {
            overflow++;
            return;
        }
        if (!ticking() || !m.prepend(headerLength)) return;
        Mbuf copy = m.dup();
        m.adj(headerLength);
        if (copy == null) return; // no buffer: no duplicate
        lastDeparture = Math.max(lastDeparture, departure);
        held.add(new Held(copy, protocolFamily, departure));
        duplicated++;
    }

    /** Starts the callout if it is not running (a frame is about to be held); false if the extension is unloading. */
    private boolean ticking() {
        if (ticker != null) return true;
        try {
            ticker = callouts.scheduleAtFixedRate(this::run, TICK_NANOS, TimeUnit.NANOSECONDS);
            return true;
        } catch (RuntimeException unloading) {
            return false;
        }
    }

    /** The callout: time moves one tick; the frames whose time has come leave, in order. */
    private void run() {
        List<Held> due = new ArrayList<>();
        synchronized (this) {
            now += TICK_NANOS;
            while (!held.isEmpty() && held.peek().departure() - now <= 0) due.add(held.poll());
            released += due.size();
            if (held.isEmpty() && ticker != null) {
                ticker.cancel();
                ticker = null;
            }
        }
        for (Held h : due) sender.send(h);
    }

    /** Gives up every held frame at once, in order ({@code clear}). */
    void flush() {
        List<Held> all;
        synchronized (this) {
            all = new ArrayList<>(held);
            released += all.size();
            held.clear();
            if (ticker != null) {
                ticker.cancel();
                ticker = null;
            }
        }
        for (Held h : all) sender.send(h);
    }

    /** Frees every held frame (the interface or the filter is gone). */
    synchronized void drop() {
        Held h;
        while ((h = held.poll()) != null) h.frame().free();
        if (ticker != null) {
            ticker.cancel();
            ticker = null;
        }
    }

    synchronized Impairment impairment() { return cfg; }

    /** The impairment and the counters, {@code key=value} words. */
    synchronized String describe() {
        return cfg + " seen=" + seen + " passed=" + passed + " delayed=" + delayed + " lost=" + lost + " duplicated=" + duplicated
                + " reordered=" + reordered + " overflow=" + overflow + " released=" + released + " held=" + held.size();
    }
}
