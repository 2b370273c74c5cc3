package org.kextnet.kernel.inet.tcp;

/**
 * RFC 5681 congestion control with RFC 6582's NewReno end of recovery, byte counting (RFC 3465) in slow
 * start and congestion avoidance. The partial-ACK retransmissions of NewReno are the connection's (they are
 * loss recovery, not window arithmetic); this class sets the windows.
 */
final class NewReno implements CongestionControl {
    private long cwnd, ssthresh = Long.MAX_VALUE;
    private int smss;
    /** Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 3.1, byte counting). */
    private long bytesAcked;
    private long priorCwnd, priorSsthresh = Long.MAX_VALUE;

    @Override public String name() { return "newreno"; }

    @Override public void init(long initialWindow, int smss, long now) {
        this.smss = smss;
        this.cwnd = initialWindow;
    }

    @Override public long cwnd() { return cwnd; }
    @Override public long ssthresh() { return ssthresh; }
    @Override public void setMss(int smss) { this.smss = smss; }

    @Override public void onAck(long ackedBytes, boolean cwndLimited, long now, long srtt) {
        if (!cwndLimited) return;
        if (cwnd < ssthresh) {
            // RFC 5681 eq. 2 with RFC 3465's limit L = 2 * SMSS, which a delayed-ACK receiver needs to double per RTT.
            cwnd += Math.min(ackedBytes, 2L * smss);
            if (cwnd > ssthresh) cwnd = Math.max(ssthresh, cwnd - cwnd % smss);
            return;
        }
        bytesAcked += ackedBytes;
        if (bytesAcked >= cwnd) { // one SMSS per window of data acknowledged (RFC 5681 eq. 3's intent)
            bytesAcked -= cwnd;
            cwnd += smss;
        }
    }

    @Override public void onCongestionEvent(long flightSize, long now) {
        priorCwnd = cwnd;
        priorSsthresh = ssthresh;
        ssthresh = Math.max(flightSize / 2, 2L * smss); // RFC 5681 eq. 4
        cwnd = ssthresh; // RFC 6675 5 (4.2); the pipe, not window inflation, paces recovery
        bytesAcked = 0;
    }

    @Override public void onRecoveryEnd(long flightSize, long now) {
        cwnd = Math.min(ssthresh, Math.max(flightSize, smss) + smss); // RFC 6582 3.2 step 3, option 1
    }

    @Override public void onTimeout(long flightSize, long now, boolean first) {
        if (first) {
            priorCwnd = cwnd;
            priorSsthresh = ssthresh;
        }
        if (first) ssthresh = Math.max(flightSize / 2, 2L * smss);
        cwnd = smss; // the loss window
        bytesAcked = 0;
    }

    @Override public void undo(long now) {
        cwnd = Math.max(cwnd, priorCwnd);
        ssthresh = Math.max(ssthresh, priorSsthresh);
    }

    @Override public void onIdle(long restartWindow, long now) {
        cwnd = Math.min(cwnd, restartWindow);
    }
}
