package org.kextnet.kernel.inet.tcp;

/**
 * CUBIC (RFC 9438): after a congestion event the window follows W_cubic(t) = C (t - K)^3 + W_max
 * (eq. 1), K = cbrt((W_max - cwnd_epoch) / C) (eq. 2), with the Reno-friendly estimate W_est (eq. 4) as its
 * floor, fast convergence (4.7), and multiplicative decrease by beta_cubic = 0.7 (4.6). Slow start is
 * standard (RFC 5681, as {@link NewReno}). Windows are kept in segments as doubles, as the RFC writes them,
 * and reported in bytes.
 */
final class Cubic implements CongestionControl {
    static final double C = 0.4, BETA = 0.7;
    /** RFC 9438 eq. 4: alpha_cubic = 3 (1 - beta) / (1 + beta). */
    static final double ALPHA = 3 * (1 - BETA) / (1 + BETA);

    private int smss;
    /** cwnd in segments. */
    private double cwnd;
    private long ssthresh = Long.MAX_VALUE;
    /** W_max, K (seconds), the epoch's start (ns; -1 before congestion avoidance starts), W_est, cwnd_epoch. */
    private double wMax, k, wEst, cwndEpoch;
    private long epochStart = -1;
    private boolean hadCongestion;
    /** The state before the last reduction, for {@link #undo}. */
    private double priorCwnd, priorWMax, priorK, priorWEst, priorCwndEpoch;
    private long priorSsthresh = Long.MAX_VALUE, priorEpochStart = -1;
    private boolean priorHadCongestion;

    @Override public String name() { return "cubic"; }

    @Override public void init(long initialWindow, int smss, long now) {
        this.smss = smss;
        this.cwnd = (double) initialWindow / smss;
    }

    @Override public long cwnd() { return (long) (cwnd * smss); }
    @Override public long ssthresh() { return ssthresh; }

    @Override public void setMss(int smss) {
        cwnd = cwnd * this.smss / smss;
        wMax = wMax * this.smss / smss;
        wEst = wEst * this.smss / smss;
        cwndEpoch = cwndEpoch * this.smss / smss;
        this.smss = smss;
    }

    double wMax() { return wMax; }
    double k() { return k; }
    long epochStart() { return epochStart; }

    /** W_cubic(t), t in seconds from the epoch's start (RFC 9438 eq. 1). */
    double wCubic(double t) {
        double d = t - k;
        return C * d * d * d + wMax;
    }

    @Override public void onAck(long ackedBytes, boolean cwndLimited, long now, long srtt) {
        if (!cwndLimited) return;
        double acked = (double) ackedBytes / smss;
        if (cwnd() < ssthresh) { // slow start (RFC 9438 4.10), L = 2 SMSS per ACK as NewReno
            cwnd += Math.min(acked, 2.0);
            if (cwnd() > ssthresh) cwnd = (double) ssthresh / smss;
            return;
        }
        if (epochStart < 0) startEpoch(now);
        double t = (now - epochStart) / 1e9;
        double rtt = srtt / 1e9;
        // W_est (RFC 9438 4.3, eq. 4); alpha becomes 1 once W_est has reached W_max.
        wEst += (wEst >= wMax ? 1.0 : ALPHA) * acked / cwnd;
        double wc = wCubic(t);
        if (wc < wEst) {
            cwnd = Math.max(cwnd, wEst); // the Reno-friendly region
            return;
        }
        // Concave and convex regions (4.4, 4.5): towards W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd].
        double target = Math.min(Math.max(wCubic(t + rtt), cwnd), 1.5 * cwnd);
        cwnd += (target - cwnd) / cwnd * acked;
    }

    private void startEpoch(long now) {
        epochStart = now;
        cwndEpoch = cwnd;
        if (!hadCongestion || cwndEpoch >= wMax) { // no W_max yet, or above it: the convex region from here
            wMax = cwndEpoch;
            k = 0;
        } else {
            k = Math.cbrt((wMax - cwndEpoch) / C); // eq. 2
        }
        wEst = cwndEpoch;
    }

    private void reduce(long flightSize) {
        priorCwnd = cwnd;
        priorSsthresh = ssthresh;
        priorWMax = wMax;
        priorK = k;
        priorWEst = wEst;
        priorCwndEpoch = cwndEpoch;
        priorEpochStart = epochStart;
        priorHadCongestion = hadCongestion;
        // Fast convergence (4.7): a W_max below the last one releases bandwidth to newer flows.
        wMax = hadCongestion && cwnd < wMax ? cwnd * (1 + BETA) / 2 : cwnd;
        hadCongestion = true;
        ssthresh = Math.max((long) (flightSize * BETA), 2L * smss); // 4.6
        epochStart = -1;
    }

    @Override public void onCongestionEvent(long flightSize, long now) {
        reduce(flightSize);
        cwnd = (double) ssthresh / smss;
    }

    @Override public void onRecoveryEnd(long flightSize, long now) {
        cwnd = Math.min((double) ssthresh, Math.max(flightSize, smss) + smss) / smss;
    }

    @Override public void onTimeout(long flightSize, long now, boolean first) {
        if (first) reduce(flightSize); // 4.8: as a congestion event, then the loss window
        epochStart = -1;
        cwnd = 1;
    }

    /** RFC 9438 4.9.2: back to the state before the spurious reduction. */
    @Override public void undo(long now) {
        cwnd = Math.max(cwnd, priorCwnd);
        ssthresh = priorSsthresh;
        wMax = priorWMax;
        k = priorK;
        wEst = priorWEst;
        cwndEpoch = priorCwndEpoch;
        epochStart = priorEpochStart;
        hadCongestion = priorHadCongestion;
    }

    @Override public void onIdle(long restartWindow, long now) {
        cwnd = Math.min(cwnd, (double) restartWindow / smss);
        epochStart = -1; // the cubic clock does not run while the sender is idle
    }
}
