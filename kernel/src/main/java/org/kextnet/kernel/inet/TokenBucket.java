package org.kextnet.kernel.inet;

/** A token bucket: {@code rate} tokens per second, at most {@code burst} saved up. Thread-safe. */
public final class TokenBucket {
    private final double ratePerNano;
    private final double burst;
    private double tokens;
    private long last;

    public TokenBucket(double ratePerSecond, int burst, long now) {
        this.ratePerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.tokens = burst;
        this.last = now;
    }

    /** Takes a token if one is there. */
    public synchronized boolean tryTake(long now) {
        tokens = Math.min(burst, tokens + (now - last) * ratePerNano);
        last = now;
        if (tokens < 1) return false;
        tokens -= 1;
        return true;
    }
}
