package org.kextnet.kernel.stat;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** One thread's counters: plain increments by the owner, opaque reads by anybody. */
public final class StatCells {
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    private final Stats owner;
    private final long[] cells = new long[Stat.all().length];

    StatCells(Stats owner) { this.owner = owner; }

    /** The registry that sums these cells. */
    public Stats owner() { return owner; }

    /** Adds every count of {@code other} to these cells (a retiring thread's, under the registry's lock). */
    void addAll(StatCells other) {
        for (int i = 0; i < cells.length; i++) CELL.setOpaque(cells, i, (long) CELL.getOpaque(cells, i) + other.get(i));
        long[] a = other.interfaces;
        for (int i = 0; i < a.length; i++) addInterface(i, (long) CELL.getOpaque(a, i));
    }

    private long get(int i) { return (long) CELL.getOpaque(cells, i); }

    /** Adds to a counter; only the owning thread calls this. */
    public void add(Stat s, long n) {
        int i = s.ordinal();
        CELL.setOpaque(cells, i, (long) CELL.getOpaque(cells, i) + n);
    }

    public void inc(Stat s) { add(s, 1); }

    public long get(Stat s) { return (long) CELL.getOpaque(cells, s.ordinal()); }

    // Interface counters (net.IfCounters), by slot = interface index * counters per interface. Grown by the
    // owner, which copies before it publishes: a reader of the old array misses nothing but later adds.
    private volatile long[] interfaces = new long[0];

    /** Adds to interface counter {@code slot}; only the owning thread calls this. */
    public void addInterface(int slot, long n) {
        long[] a = interfaces;
        if (slot >= a.length) a = growInterfaces(slot);
        CELL.setOpaque(a, slot, (long) CELL.getOpaque(a, slot) + n);
    }

    public long getInterface(int slot) {
        long[] a = interfaces;
        return slot < a.length ? (long) CELL.getOpaque(a, slot) : 0;
    }

    private long[] growInterfaces(int slot) {
        long[] old = interfaces;
        long[] a = new long[Math.max(slot + 1, old.length * 2)];
        for (int i = 0; i < old.length; i++) a[i] = (long) CELL.getOpaque(old, i);
        interfaces = a;
        return a;
    }
}
