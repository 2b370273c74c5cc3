package org.kextnet.kernel.hook;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

import org.kextnet.kernel.hook.FilterEntry;
import org.kextnet.kernel.sync.GracePeriod;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;

/**
 * An ordered chain of filters at one hook point, copy-on-write: the packet path reads an immutable
 * {@link Snapshot} through one volatile field and never locks; attach, remove and replace build a new
 * snapshot under the chain's lock and publish it with one volatile write. A removed filter's
 * {@code detached} runs after a grace period ({@link GracePeriod#defer}), so exactly once and after every
 * call that could still see it has returned.
 *
 * <p>Each snapshot also holds, per direction, the array of filters that implement it, so that a head
 * iterates only over filters that do something there, and an empty direction costs one load and a
 * length check.
 *
 * @param <F> the KPI filter type
 */
public final class FilterChain<F> {
    /** An immutable view of the chain. {@code all} is in chain order; {@code byCap[i]} holds the entries with cap bit i. */
    public static final class Snapshot<F> {
        public final FilterEntry<F>[] all;
        private final FilterEntry<F>[][] byCap;

        Snapshot(FilterEntry<F>[] all, int capBits, IntFunction<FilterEntry<F>[]> newArray) {
            this.all = all;
            @SuppressWarnings("unchecked")
            FilterEntry<F>[][] d = (FilterEntry<F>[][]) new FilterEntry<?>[capBits][];
            for (int b = 0; b < capBits; b++) {
                int bit = 1 << b;
                d[b] = Arrays.stream(all).filter(e -> (e.caps & bit) != 0).toArray(newArray);
            }
            this.byCap = d;
        }

        /** The entries implementing cap bit number {@code bitIndex}, in chain order. */
        public FilterEntry<F>[] with(int bitIndex) { return byCap[bitIndex]; }

        /**
         * Where a run that resumes after {@code ref} starts in {@code with(bitIndex)}: xnu's "filter_ref"
         * re-injection, which skips {@code ref} and every filter before it. A removed filter resumes where its
         * successor (at removal) stands; a replaced one after its replacement; null starts at 0.
         */
        public int resumeIndex(FilterEntry<?> ref, int bitIndex) {
            if (ref == null) return 0;
            int fullIndex = resumeFullIndex(ref);
            int bit = 1 << bitIndex;
            int n = 0;
            for (int i = 0; i < fullIndex; i++) if ((all[i].caps & bit) != 0) n++;
            return n;
        }

        private int resumeFullIndex(FilterEntry<?> ref) {
            boolean startAt = false;
            FilterEntry<?> r = ref;
            while (r != null) {
                for (int i = 0; i < all.length; i++) if (all[i] == r) return startAt ? i : i + 1;
                if (r.replacedBy != null) {
                    r = r.replacedBy;
                } else if (r.unlinked) {
                    r = r.successor;
                    startAt = true;
                } else {
                    return all.length; // never in this chain: as xnu, run no filter
                }
            }
            return all.length; // the filter was last when removed
        }
    }

    private final String name;
    private final GracePeriod grace;
    private final int capBits;
    private final IntFunction<FilterEntry<F>[]> newArray;
    private volatile Snapshot<F> snapshot;
    /**
     * The cap bits at least one entry has: the packet path's "no filter here" test is one load of this
     * field instead of a walk from the snapshot to the length of its array for that bit.
     */
    private volatile int present;

    /**
     * @param name    for status ("ipv4", "wire0")
     * @param capBits how many direction bits the head uses
     */
    @SuppressWarnings("unchecked")
    public FilterChain(String name, GracePeriod grace, int capBits) {
        this.name = name;
        this.grace = grace;
        this.capBits = capBits;
        this.newArray = n -> (FilterEntry<F>[]) new FilterEntry<?>[n];
        this.snapshot = new Snapshot<>(newArray.apply(0), capBits, newArray);
    }

    public String name() { return name; }

    /** The current snapshot: one volatile read. Read it again after entering a read-side section. */
    public Snapshot<F> snapshot() { return snapshot; }

    /** Whether any entry implements cap bit number {@code bitIndex}: one volatile read. */
    public boolean has(int bitIndex) { return (present & (1 << bitIndex)) != 0; }

    /** The entries in order (status). */
    public List<FilterEntry<F>> entries() { return List.of(snapshot.all); }

    /** Factory for a head's entry type. */
    @FunctionalInterface
    public interface EntryFactory<F, E extends FilterEntry<F>> {
        E create(FilterChain<F> chain, int priority);
    }

    /**
     * Inserts a new entry at {@code position} and publishes.
     * @throws KpiException EEXIST (name taken), ENOENT (anchor missing), ENXIO (chain closed)
     */
    public synchronized <E extends FilterEntry<F>> E add(String entryName, Position position, EntryFactory<F, E> factory)
            throws KpiException {
        if (closed) throw new KpiException(Errno.ENXIO, "chain " + name + " is gone");
        FilterEntry<F>[] all = snapshot.all;
        for (FilterEntry<F> e : all) {
            if (e.name().equals(entryName)) throw new KpiException(Errno.EEXIST, "filter " + entryName + " already in " + name);
        }
        int at;
        int priority;
        if (position.anchor() != null) {
            int a = indexOf(all, position.anchor());
            if (a < 0) throw new KpiException(Errno.ENOENT, "no filter " + position.anchor() + " in " + name);
            priority = all[a].priority;
            at = position.beforeAnchor() ? a : a + 1;
        } else {
            priority = position.priority();
            at = 0;
            while (at < all.length && all[at].priority <= priority) at++;
        }
        E entry = factory.create(this, priority);
        FilterEntry<F>[] n = newArray.apply(all.length + 1);
        System.arraycopy(all, 0, n, 0, at);
        n[at] = entry;
        System.arraycopy(all, at, n, at + 1, all.length - at);
        publish(n);
        entry.owner().record(entry);
        return entry;
    }

    /**
     * Unpublishes {@code e} and schedules its {@code detached} after a grace period. Returns at once; safe
     * from inside a callback. Idempotent.
     */
    public void remove(FilterEntry<F> e, Removal why) {
        synchronized (this) {
            if (!e.beginDetach()) return;
            FilterEntry<F>[] all = snapshot.all;
            int i = Arrays.asList(all).indexOf(e);
            if (i >= 0) {
                e.successor = i + 1 < all.length ? all[i + 1] : null;
                e.unlinked = true;
                FilterEntry<F>[] n = newArray.apply(all.length - 1);
                System.arraycopy(all, 0, n, 0, i);
                System.arraycopy(all, i + 1, n, i, all.length - i - 1);
                publish(n);
            }
        }
        scheduleDetached(e, why);
    }

    /**
     * Puts a new entry in {@code old}'s place with one publish; {@code old}'s {@code detached} follows after
     * a grace period.
     * @throws KpiException EINVAL if {@code old} is not in the chain any more
     */
    public <E extends FilterEntry<F>> E replace(FilterEntry<F> old, EntryFactory<F, E> factory) throws KpiException {
        E entry;
        synchronized (this) {
            FilterEntry<F>[] all = snapshot.all;
            int i = Arrays.asList(all).indexOf(old);
            if (i < 0 || !old.beginDetach()) throw new KpiException(Errno.EINVAL, "filter " + old.name() + " is not attached");
            entry = factory.create(this, old.priority);
            FilterEntry<F>[] n = all.clone();
            n[i] = entry;
            old.replacedBy = entry;
            publish(n);
            entry.owner().record(entry);
        }
        scheduleDetached(old, Removal.REQUESTED);
        return entry;
    }

    private void scheduleDetached(FilterEntry<F> e, Removal why) {
        grace.defer(() -> e.finish(why, "detached", e.detached()));
    }

    private boolean closed;

    /**
     * Removes every entry (the hook point is going away: an interface detaching) and refuses new ones.
     * Each entry's {@code detached} follows after a grace period.
     */
    public void close() {
        List<FilterEntry<F>> removed;
        synchronized (this) {
            closed = true;
            removed = new ArrayList<>(Arrays.asList(snapshot.all));
        }
        for (FilterEntry<F> e : removed) remove(e, Removal.REQUESTED);
    }

    private void publish(FilterEntry<F>[] all) {
        snapshot = new Snapshot<>(all, capBits, newArray);
        // After the snapshot: a reader that sees either old or new bits reads a snapshot that is at least as
        // new, and a bit seen set over an empty array only costs it an empty loop.
        int caps = 0;
        for (FilterEntry<F> e : all) caps |= e.caps;
        present = caps;
    }

    private static int indexOf(FilterEntry<?>[] all, String entryName) {
        for (int i = 0; i < all.length; i++) if (all[i].name().equals(entryName)) return i;
        return -1;
    }

    /** Status lines: one per filter, in chain order. */
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        int i = 0;
        for (FilterEntry<F> e : snapshot.all) l.add((i++) + ": " + e.describe() + " [" + e.owner().name() + "]");
        return l;
    }
}
