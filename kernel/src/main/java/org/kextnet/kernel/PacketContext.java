package org.kextnet.kernel;

import org.kextnet.kernel.stat.StatCells;

/**
 * The state a thread needs to run packet code: its own counters and its kernel. A driver's reader
 * thread makes one and passes it down the input path; any other thread (an application sending, the
 * timer) gets its own from {@link Kernel#context()}. Passing it explicitly keeps thread-local lookups
 * off the per-packet path.
 */
public final class PacketContext {
    private final Kernel kernel;
    private final StatCells stats;

    PacketContext(Kernel kernel, StatCells stats) {
        this.kernel = kernel;
        this.stats = stats;
    }

    public Kernel kernel() { return kernel; }
    public StatCells stats() { return stats; }
}
