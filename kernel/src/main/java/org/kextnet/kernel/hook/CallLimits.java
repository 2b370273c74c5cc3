package org.kextnet.kernel.hook;

import java.util.Arrays;
import java.util.StringJoiner;

/**
 * How long one call into an extension may take, per kind of head. A call that returns after more than its
 * <b>soft budget</b> is counted against its registration and logged with the extension's name; a call still
 * running after its <b>hard limit</b> makes the kernel's {@link Watchdog} quarantine the extension and abandon the
 * thread (docs/extensions.md, "Faulty extensions"). Immutable; the kernel's current limits are in
 * {@link Heads#limits()}.
 *
 * <p>Defaults: a soft budget of 10 ms and a hard limit of 1 s for every head, except kernel controls (100 ms and
 * 10 s), whose callbacks run on their client's thread rather than the kernel's. A hard limit is at least twice
 * its soft budget, and a soft budget at least 1 ms: the watchdog ticks at a quarter of the smallest soft budget.
 */
public final class CallLimits {
    public static final long MIN_SOFT_NANOS = 1_000_000L;
    public static final CallLimits DEFAULT = new CallLimits(new long[Head.values().length], new long[Head.values().length])
            .withAll(10_000_000L, 1_000_000_000L)
            .with(Head.KERNEL_CONTROL, 100_000_000L, 10_000_000_000L);

    private final long[] soft, hard;
    /** The smallest soft budget, kept: the watchdog reads it at every tick, which must allocate nothing. */
    private final long minSoft;

    private CallLimits(long[] soft, long[] hard) {
        this.soft = soft;
        this.hard = hard;
        long min = Long.MAX_VALUE;
        for (long s : soft) min = Math.min(min, s);
        this.minSoft = soft.length == 0 ? MIN_SOFT_NANOS : min;
    }

    /** The soft budget of a call into a {@code head}, in nanoseconds. */
    public long soft(Head head) { return soft[head.ordinal()]; }

    /** The hard limit of a call into a {@code head}, in nanoseconds. */
    public long hard(Head head) { return hard[head.ordinal()]; }

    /** The smallest soft budget of any head. */
    public long minSoft() { return minSoft; }

    /**
     * These limits with {@code head}'s changed.
     * @throws IllegalArgumentException if the soft budget is under 1 ms or the hard limit under twice the soft
     *         budget (the kernel's limits are unchanged)
     */
    public CallLimits with(Head head, long softNanos, long hardNanos) {
        check(head.key(), softNanos, hardNanos);
        long[] s = soft.clone(), h = hard.clone();
        s[head.ordinal()] = softNanos;
        h[head.ordinal()] = hardNanos;
        return new CallLimits(s, h);
    }

    /** These limits with every head's set to the same. */
    public CallLimits withAll(long softNanos, long hardNanos) {
        check("every head", softNanos, hardNanos);
        long[] s = new long[soft.length], h = new long[hard.length];
        Arrays.fill(s, softNanos);
        Arrays.fill(h, hardNanos);
        return new CallLimits(s, h);
    }

    private static void check(String what, long softNanos, long hardNanos) {
        if (softNanos < MIN_SOFT_NANOS) throw new IllegalArgumentException(what + ": soft budget " + softNanos / 1e6 + " ms is under 1 ms");
        if (hardNanos / 2 < softNanos) {
            throw new IllegalArgumentException(what + ": hard limit " + hardNanos / 1e6 + " ms is under twice the soft budget ("
                    + softNanos / 1e6 + " ms)");
        }
    }

    /** "ipfilter 10/1000 ms, ..." for status. */
    @Override public String toString() {
        StringJoiner j = new StringJoiner(", ");
        for (Head h : Head.values()) j.add(h.key() + " " + soft(h) / 1_000_000 + "/" + hard(h) / 1_000_000 + " ms");
        return j.toString();
    }
}
