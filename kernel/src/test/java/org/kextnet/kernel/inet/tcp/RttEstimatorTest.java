package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** RFC 6298's formulas, bounds and backoff. */
class RttEstimatorTest {
    static final long MS = 1_000_000L;

    @Test void theFirstSampleAndTheNextFollowTheRfcFormulas() {
        RttEstimator e = new RttEstimator(new TcpConfig(), MS);
        assertThat(e.rto()).isEqualTo(1000 * MS); // 2.1
        e.sample(100 * MS, 0, true); // 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR)
        assertThat(e.srtt()).isEqualTo(100 * MS);
        assertThat(e.rttvar()).isEqualTo(50 * MS);
        assertThat(e.rto()).isEqualTo(300 * MS);
        e.sample(200 * MS, 1, true); // 2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|, SRTT = 7/8 SRTT + 1/8 R'
        assertThat(e.rttvar()).isEqualTo((3 * 50 * MS + 100 * MS) / 4);
        assertThat(e.srtt()).isEqualTo((7 * 100 * MS + 200 * MS) / 8);
        assertThat(e.rto()).isEqualTo(e.srtt() + 4 * e.rttvar());
    }

    @Test void theRtoIsBoundedAndBacksOffUntilAValidSample() {
        TcpConfig cfg = new TcpConfig();
        RttEstimator e = new RttEstimator(cfg, MS);
        e.sample(MS / 10, 0, true);
        assertThat(e.rto()).isEqualTo(cfg.minRto); // 2.4, with this stack's floor
        for (int i = 0; i < 20; i++) e.backOff();
        assertThat(e.rto()).isEqualTo(cfg.maxRto); // 2.5
        e.sample(MS, 1, true);
        assertThat(e.backoff()).isZero();
        assertThat(e.rto()).isEqualTo(cfg.minRto);
    }

    @Test void aLostSynRaisesTheRtoToThreeSecondsUntilAnRttIsKnown() {
        RttEstimator e = new RttEstimator(new TcpConfig(), MS);
        e.afterSynLoss();
        assertThat(e.rto()).isEqualTo(3000 * MS); // 5.7
        RttEstimator m = new RttEstimator(new TcpConfig(), MS);
        m.sample(10 * MS, 0, true);
        m.afterSynLoss();
        assertThat(m.rto()).isEqualTo(200 * MS);
    }

    @Test void onlyPreciseSamplesSetTheMinimumRtt() {
        RttEstimator e = new RttEstimator(new TcpConfig(), MS);
        e.sample(0, 0, false); // a timestamp echo of the same millisecond
        assertThat(e.minRtt()).isEqualTo(RttEstimator.NONE);
        e.sample(30 * MS, 1, true);
        e.sample(20 * MS, 2, true);
        e.sample(50 * MS, 3, true);
        assertThat(e.minRtt()).isEqualTo(20 * MS);
        e.sample(40 * MS, 11_000 * MS, true); // the minimum is forgotten after 10 s
        assertThat(e.minRtt()).isEqualTo(40 * MS);
    }
}
