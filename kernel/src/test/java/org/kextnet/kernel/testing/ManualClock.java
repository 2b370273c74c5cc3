package org.kextnet.kernel.testing;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A synthetic nanosecond clock that only moves when a test moves it. It starts a minute before the
 * {@code long} wraps, so every deadline a test crosses also checks that the kernel compares times
 * overflow-safely ({@code a - b < 0}), as System.nanoTime requires.
 */
public final class ManualClock implements LongSupplier {
    private volatile long now = Long.MAX_VALUE - TimeUnit.MINUTES.toNanos(1);

    @Override public long getAsLong() { return now; }

    public long now() { return now; }

    public long advance(long amount, TimeUnit unit) {
        now += unit.toNanos(amount);
        return now;
    }

    public long advanceMillis(long millis) { return advance(millis, TimeUnit.MILLISECONDS); }
}
