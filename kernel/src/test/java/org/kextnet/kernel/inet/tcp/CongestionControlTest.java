package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * NewReno (RFC 5681, 3465, 6582) and CUBIC (RFC 9438) against the formulas of their RFCs, driven by an ACK
 * clock: every RTT, one ACK per segment in the window.
 */
class CongestionControlTest {
    static final int MSS = 1000;
    static final long MS = 1_000_000L, SECOND = 1_000_000_000L;

    /** One RTT of ACKs, one per {@code perAck} segments, spread over the RTT; returns the time after it. */
    static long rtt(CongestionControl cc, long now, long rtt, int perAck) {
        long segments = Math.max(1, cc.cwnd() / MSS);
        long acks = Math.max(1, segments / perAck);
        for (long i = 1; i <= acks; i++) cc.onAck((long) perAck * MSS, true, now + rtt * i / acks, rtt);
        return now + rtt;
    }

    @Test void newRenoSlowStartDoublesPerRttEvenWithDelayedAcks() {
        CongestionControl cc = CongestionControl.create("newreno");
        cc.init(10 * MSS, MSS, 0);
        long t = 0;
        for (int r = 1; r <= 5; r++) {
            t = rtt(cc, t, 100 * MS, 2); // one ACK per two segments: RFC 3465's L = 2 SMSS keeps the doubling
            assertThat(cc.cwnd()).isEqualTo(10L * MSS << r);
        }
        assertThat(cc.ssthresh()).isEqualTo(Long.MAX_VALUE);
    }

    @Test void newRenoCongestionAvoidanceAddsOneSegmentPerRtt() {
        CongestionControl cc = CongestionControl.create("newreno");
        cc.init(10 * MSS, MSS, 0);
        cc.onCongestionEvent(100 * MSS, 0);
        assertThat(cc.ssthresh()).isEqualTo(50 * MSS); // RFC 5681 eq. 4: FlightSize / 2
        assertThat(cc.cwnd()).isEqualTo(50 * MSS);
        cc.onRecoveryEnd(50 * MSS, 0);
        long t = 0;
        for (int r = 1; r <= 10; r++) {
            t = rtt(cc, t, 100 * MS, 1);
            assertThat(cc.cwnd()).isEqualTo((50L + r) * MSS);
        }
    }

    @Test void newRenoTimeoutsGoToTheLossWindowAndHoldSsthreshAfterTheFirst() {
        CongestionControl cc = CongestionControl.create("newreno");
        cc.init(10 * MSS, MSS, 0);
        cc.onTimeout(40 * MSS, 0, true);
        assertThat(cc.cwnd()).isEqualTo(MSS);
        assertThat(cc.ssthresh()).isEqualTo(20 * MSS);
        cc.onTimeout(2 * MSS, 0, false);
        assertThat(cc.ssthresh()).isEqualTo(20 * MSS);
        cc.onTimeout(2 * MSS, 0, true);
        assertThat(cc.ssthresh()).as("never below 2 SMSS").isEqualTo(2 * MSS);
    }

    @Test void aWindowTheApplicationDoesNotFillDoesNotGrow() {
        for (String name : new String[] {"newreno", "cubic"}) {
            CongestionControl cc = CongestionControl.create(name);
            cc.init(10 * MSS, MSS, 0);
            for (int i = 0; i < 100; i++) cc.onAck(MSS, false, i * MS, 10 * MS);
            assertThat(cc.cwnd()).as(name).isEqualTo(10 * MSS);
        }
    }

    @Test void cubicReducesByBetaAndFollowsTheCubicCurveAroundWmax() {
        Cubic cc = (Cubic) CongestionControl.create("cubic");
        cc.init(10 * MSS, MSS, 0);
        // grow past 100 segments, then a loss with the window full
        long t = 0;
        while (cc.cwnd() < 100 * MSS) t = rtt(cc, t, 100 * MS, 1);
        long w = cc.cwnd();
        cc.onCongestionEvent(w, t);
        double wMax = cc.wMax();
        assertThat(wMax).isEqualTo((double) w / MSS);
        assertThat(cc.ssthresh()).isEqualTo((long) (w * Cubic.BETA)); // RFC 9438 4.6: flight * beta_cubic
        assertThat(cc.cwnd()).isEqualTo(cc.ssthresh());
        cc.onRecoveryEnd(cc.ssthresh(), t);
        // K = cbrt(W_max (1 - beta) / C) (eq. 2), since cwnd_epoch = beta * W_max
        double expectK = Math.cbrt(wMax * (1 - Cubic.BETA) / Cubic.C);
        t = rtt(cc, t, 100 * MS, 1);
        assertThat(cc.k()).isCloseTo(expectK, within(1e-9));
        long epoch = cc.epochStart();
        double rttS = 0.1;
        while (t - epoch < 8 * SECOND) {
            t = rtt(cc, t, 100 * MS, 1);
            double el = (t - epoch) / 1e9;
            double wCubic = Cubic.C * Math.pow(el - expectK, 3) + wMax; // eq. 1
            // The window tracks W_cubic(t + RTT) one RTT ahead, clamped per ACK (RFC 9438 4.4, 4.5): within two segments
            // (or 2 %) of the curve at the current time, and never above W_cubic(t + RTT) by more than one segment.
            double cw = (double) cc.cwnd() / MSS;
            assertThat(cw).as("t = %.1f s", el).isCloseTo(Math.max(wCubic, wMax * Cubic.BETA), within(Math.max(2.0, 0.02 * wCubic)));
            assertThat(cw).isLessThanOrEqualTo(Cubic.C * Math.pow(el + rttS - expectK, 3) + wMax + 1);
        }
        assertThat(cc.cwnd()).as("convex region beyond W_max").isGreaterThan((long) (wMax * MSS) + 10 * MSS);
    }

    @Test void cubicIsRenoFriendlyWhereRenoWouldBeFaster() {
        Cubic cc = (Cubic) CongestionControl.create("cubic");
        cc.init(20 * MSS, MSS, 0);
        cc.onCongestionEvent(20 * MSS, 0);
        cc.onRecoveryEnd(14 * MSS, 0);
        // a 1 ms RTT: W_cubic hardly moves in 100 ms, Reno's estimate (eq. 4) grows alpha per RTT, then 1
        long t = 0;
        double wEst = 14;
        for (int r = 0; r < 100; r++) {
            t = rtt(cc, t, MS, 1);
            wEst += wEst >= 20 ? 1 : Cubic.ALPHA;
        }
        double wCubic = Cubic.C * Math.pow(0.1 - cc.k(), 3) + cc.wMax();
        assertThat(wCubic).isLessThan(20);
        // eq. 4 adds alpha * acked / cwnd per ACK; per RTT that is alpha while cwnd holds still: within 2 %
        assertThat((double) cc.cwnd() / MSS).isCloseTo(wEst, within(0.02 * wEst));
    }

    @Test void cubicFastConvergenceAndRtoAndUndo() {
        Cubic cc = (Cubic) CongestionControl.create("cubic");
        cc.init(100 * MSS, MSS, 0);
        cc.onCongestionEvent(100 * MSS, 0);
        assertThat(cc.wMax()).isEqualTo(100);
        cc.onRecoveryEnd(70 * MSS, 0);
        cc.onCongestionEvent(70 * MSS, 1); // below the last W_max: fast convergence (4.7)
        assertThat(cc.wMax()).isCloseTo(70 * (1 + Cubic.BETA) / 2, within(1e-9));
        long cwnd = cc.cwnd(), ssthresh = cc.ssthresh();
        double wMax = cc.wMax();
        cc.onTimeout(cwnd, 2, true); // 4.8: the reduction, then one segment
        assertThat(cc.cwnd()).isEqualTo(MSS);
        assertThat(cc.ssthresh()).isEqualTo((long) (cwnd * Cubic.BETA));
        cc.undo(3); // spurious (4.9): everything as before the timeout
        assertThat(cc.cwnd()).isEqualTo(cwnd);
        assertThat(cc.ssthresh()).isEqualTo(ssthresh);
        assertThat(cc.wMax()).isEqualTo(wMax);
    }

    @Test void controllersAreChosenByName() {
        assertThat(CongestionControl.create("cubic").name()).isEqualTo("cubic");
        assertThat(CongestionControl.create("newreno").name()).isEqualTo("newreno");
        assertThatThrownBy(() -> CongestionControl.create("vegas")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cubic");
    }
}
