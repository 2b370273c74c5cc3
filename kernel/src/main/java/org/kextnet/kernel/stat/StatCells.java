package org.kextnet.kernel.stat;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/** One thread's counters: plain increments by the owner, opaque reads by anybody. */
public final class StatCells {
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    private final long[] cells = new long[Stat.all().length];

    /** Adds to a counter; only the owning thread calls this. */
    public void add(Stat s, long n) {
        int i = s.ordinal();
        CELL.setOpaque(cells, i, (long) CELL.getOpaque(cells, i) + n);
    }

    public void inc(Stat s) { add(s, 1); }

    public long get(Stat s) { return (long) CELL.getOpaque(cells, s.ordinal()); }
}
