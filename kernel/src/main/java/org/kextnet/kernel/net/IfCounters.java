package org.kextnet.kernel.net;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import org.kextnet.kernel.stat.Stats;

/**
 * An interface's counters, per direction: packets, bytes, errors, drops (as {@code netstat -i}).
 *
 * <p>Packet threads count through the {@link PacketContext} overloads, into their own per-thread cells
 * (the kernel's {@link org.kextnet.kernel.stat.StatCells}) with no atomic instruction: the forwarding path
 * counts every packet it transmits. The overloads without a context add atomically, so any thread may
 * count; {@link #get} sums both.
 */
public final class IfCounters {
    public static final int IPACKETS = 0, IBYTES = 1, IERRORS = 2, IDROPS = 3,
            OPACKETS = 4, OBYTES = 5, OERRORS = 6, ODROPS = 7, COUNT = 8;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    // Spread over cache lines: input and output are usually counted by different threads.
    private static final int STRIDE = 8;
    private final long[] cells = new long[COUNT * STRIDE];
    private final Stats stats;
    private final int slot;

    /** Counters of interface {@code ifIndex}, whose packet threads count into cells of {@code stats}. */
    public IfCounters(Stats stats, int ifIndex) {
        this.stats = stats;
        this.slot = ifIndex * COUNT;
    }

    /** Counters that only count atomically (no packet threads' cells). */
    public IfCounters() { this(null, 0); }

    public void add(int counter, long n) {
        // The cast makes the call site's type exactly getAndAdd's (it returns long). Called as a statement
        // the VarHandle went through a generic adapting guard: a third of the forwarding time.
        long unused = (long) CELL.getAndAdd(cells, counter * STRIDE, n);
    }

    public void inc(int counter) { add(counter, 1); }

    /** Adds from a packet thread of this interface's kernel, into that thread's own cells. */
    public void add(PacketContext ctx, int counter, long n) {
        if (ctx.stats().owner() == stats) ctx.stats().addInterface(slot + counter, n);
        else add(counter, n);
    }

    public long get(int counter) {
        long n = (long) CELL.getVolatile(cells, counter * STRIDE);
        return stats == null ? n : n + stats.interfaceCounter(slot + counter);
    }

    public void input(long packets, long bytes) { add(IPACKETS, packets); add(IBYTES, bytes); }
    public void output(long packets, long bytes) { add(OPACKETS, packets); add(OBYTES, bytes); }
    public void input(PacketContext ctx, long packets, long bytes) { add(ctx, IPACKETS, packets); add(ctx, IBYTES, bytes); }
    public void output(PacketContext ctx, long packets, long bytes) { add(ctx, OPACKETS, packets); add(ctx, OBYTES, bytes); }
}
