package org.kextnet.kernel.inet.tcp;

/**
 * RFC 6298's arithmetic for one connection: SRTT and RTTVAR from RTT samples (2.2, 2.3), the RTO with its
 * bounds (2.4, 2.5) and exponential backoff (5.5), and the minimum RTT RACK trusts (RFC 8985 6.2). Callers pass
 * only valid samples (Karn: none from a retransmitted segment unless a timestamp says which transmission was
 * acknowledged). Owned by its {@link TcpConnection}, used under its lock.
 */
final class RttEstimator {
    static final long NONE = Long.MAX_VALUE;
    private static final long MIN_RTT_WINDOW = 10_000_000_000L;

    private final TcpConfig cfg;
    /** G, the clock granularity: one timer tick. */
    private final long granularity;
    private long srtt, rttvar, rto;
    private boolean measured;
    private int backoff;
    private long minRtt = NONE, minRttTime;

    RttEstimator(TcpConfig cfg, long granularity) {
        this.cfg = cfg;
        this.granularity = granularity;
        this.rto = cfg.initialRto; // 2.1
    }

    /**
     * A sample of {@code r} ns. A {@code precise} one comes from a segment's transmit time; otherwise from an
     * echoed timestamp (RFC 7323 4.1), of millisecond granularity, which feeds SRTT but not the minimum RTT.
     * A valid sample ends the backoff (Karn).
     */
    void sample(long r, long now, boolean precise) {
        if (r < 0) return;
        if (!measured) {
            srtt = r;
            rttvar = r / 2;
            measured = true;
        } else {
            rttvar = (3 * rttvar + Math.abs(srtt - r)) / 4;
            srtt = (7 * srtt + r) / 8;
        }
        rto = Math.min(cfg.maxRto, Math.max(cfg.minRto, srtt + Math.max(granularity, 4 * rttvar)));
        backoff = 0;
        if (precise && (minRtt == NONE || r < minRtt || now - minRttTime > MIN_RTT_WINDOW)) {
            minRtt = r;
            minRttTime = now;
        }
    }

    /** The RTO with its backoff, at most the maximum. */
    long rto() {
        long r = rto << Math.min(backoff, 16);
        return r < 0 || r > cfg.maxRto ? cfg.maxRto : r;
    }

    /** The RTO without backoff. */
    long baseRto() { return rto; }

    /** 5.5: the timer expired; the next RTO is twice as long. */
    void backOff() { backoff++; }

    void resetBackoff() { backoff = 0; }

    /** 5.7: the SYN was retransmitted and no RTT is known: the RTO is at least 3 s once data flows. */
    void afterSynLoss() {
        if (!measured) rto = Math.max(rto, cfg.rtoAfterSynLoss);
    }

    int backoff() { return backoff; }
    boolean measured() { return measured; }
    long srtt() { return srtt; }
    long rttvar() { return rttvar; }
    /** The smallest precise sample in the last 10 s, or {@link #NONE}. */
    long minRtt() { return minRtt; }
}
