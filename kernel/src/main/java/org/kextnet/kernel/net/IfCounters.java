package org.kextnet.kernel.net;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An interface's counters, per direction: packets, bytes, errors, drops (as {@code netstat -i}).
 * Drivers add once per batch on input; output adds per packet. Atomic adds, so any thread may count.
 */
public final class IfCounters {
    public static final int IPACKETS = 0, IBYTES = 1, IERRORS = 2, IDROPS = 3,
            OPACKETS = 4, OBYTES = 5, OERRORS = 6, ODROPS = 7, COUNT = 8;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    // Spread over cache lines: input and output are usually counted by different threads.
    private static final int STRIDE = 8;
    private final long[] cells = new long[COUNT * STRIDE];

    public void add(int counter, long n) { CELL.getAndAdd(cells, counter * STRIDE, n); }
    public void inc(int counter) { add(counter, 1); }
    public long get(int counter) { return (long) CELL.getVolatile(cells, counter * STRIDE); }

    public void input(long packets, long bytes) { add(IPACKETS, packets); add(IBYTES, bytes); }
    public void output(long packets, long bytes) { add(OPACKETS, packets); add(OBYTES, bytes); }
}
