package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The delivery-rate estimator of the {@link Scoreboard} (draft-cheng-iccrg-delivery-rate-estimation): what a
 * {@link RateSample} says after an ACK, from the snapshots taken when the segments were sent.
 */
class DeliveryRateTest {
    private static final int S0 = -3000; // wraps through 0
    private static final long MS = 1_000_000L;
    private static final long NO_MIN_RTT = RttEstimator.NONE;
    private final Scoreboard sb = new Scoreboard();
    private final RateSample rs = new RateSample();

    DeliveryRateTest() { sb.init(S0); }

    /** Sends segment i (1000 bytes at S0 + 1000 i) at {@code t}. */
    private void send(int i, long t) { sb.append(S0 + 1000 * i, S0 + 1000 * (i + 1), t, false); }

    private void cumAck(int segments, long t) {
        sb.beginAck();
        sb.cumAck(S0 + 1000 * segments);
        sb.rateSample(rs, t, NO_MIN_RTT);
    }

    @Test void aRateIsWhatWasDeliveredSinceTheSampledSegmentWasSentOverTheTimeItTook() {
        for (int i = 0; i < 10; i++) send(i, i * MS);
        cumAck(5, 100 * MS);
        // the most recently sent segment delivered is #4, sent at 4 ms when nothing had been delivered since 0
        assertThat(rs.delivered).isEqualTo(5000);
        assertThat(rs.interval).isEqualTo(100 * MS);
        assertThat(rs.rate()).isEqualTo(50_000);
        assertThat(rs.rtt).isEqualTo(96 * MS);
        assertThat(rs.ackedSacked).isEqualTo(5000);
        assertThat(rs.priorDelivered).isZero();
        assertThat(rs.totalDelivered).isEqualTo(5000);
        assertThat(rs.appLimited).isFalse();
    }

    /** ACK compression: segments sent over 30 ms come back in one ACK; the sending took longer, and bounds the rate. */
    @Test void theLongerOfTheSendAndAckIntervalsIsTheInterval() {
        send(0, 0);
        send(1, MS);
        cumAck(1, 50 * MS); // #0: the next interval starts at its send, 0
        for (int i = 2; i <= 5; i++) send(i, (30 + 10 * i) * MS); // 50, 60, 70, 80 ms
        cumAck(6, 81 * MS);
        assertThat(rs.delivered).isEqualTo(5000);
        // send elapsed: 80 ms since the interval began; the ACKs took only 31 ms since the last delivery
        assertThat(rs.interval).isEqualTo(80 * MS);
        assertThat(rs.rate()).isEqualTo(62_500);
    }

    @Test void theSampleComesFromTheMostRecentlySentSegmentAckedOrSacked() {
        for (int i = 0; i < 10; i++) send(i, i * MS);
        sb.beginAck();
        sb.sack(S0 + 5000, S0 + 8000); // #5..#7; #0..#4 are missing
        sb.rateSample(rs, 50 * MS, NO_MIN_RTT);
        assertThat(rs.rtt).as("from #7, sent at 7 ms").isEqualTo(43 * MS);
        assertThat(rs.delivered).isEqualTo(3000);
        assertThat(rs.ackedSacked).isEqualTo(3000);
        // the cumulative ACK of #0..#7 delivers only #0..#4 anew: SACKed data is not counted twice
        sb.beginAck();
        sb.cumAck(S0 + 8000);
        sb.rateSample(rs, 60 * MS, NO_MIN_RTT);
        assertThat(rs.ackedSacked).isEqualTo(5000);
        assertThat(rs.totalDelivered).isEqualTo(8000);
        assertThat(rs.rtt).as("from #4, sent at 4 ms").isEqualTo(56 * MS);
    }

    @Test void segmentsSentWhileTheApplicationHadNothingMoreAreAppLimitedUntilTheyAreDelivered() {
        send(0, 0);
        sb.markAppLimited(sb.pipe()); // room in the window, nothing more to send
        send(1, MS);
        assertThat(sb.appLimited()).isTrue();
        cumAck(1, 20 * MS);
        assertThat(rs.appLimited).as("#0 was sent before").isFalse();
        assertThat(sb.appLimited()).as("#0 was in flight when it was marked: not all of it is delivered").isTrue();
        send(2, 21 * MS);
        cumAck(2, 21 * MS);
        assertThat(rs.appLimited).isTrue();
        assertThat(sb.appLimited()).as("what was in flight when it was marked is delivered").isFalse();
        send(3, 22 * MS);
        cumAck(4, 40 * MS);
        assertThat(rs.appLimited).as("#3 went out after the limited phase").isFalse();
    }

    @Test void anIntervalShorterThanTheMinimumRttGivesNoRate() {
        send(0, 0);
        sb.beginAck();
        sb.cumAck(S0 + 1000);
        sb.rateSample(rs, 10 * MS, 20 * MS);
        assertThat(rs.valid()).isFalse();
        assertThat(rs.rate()).isZero();
        assertThat(rs.ackedSacked).as("what it delivered still counts").isEqualTo(1000);
    }

    @Test void anAckThatDeliversNothingGivesNoRate() {
        send(0, 0);
        sb.beginAck();
        sb.rateSample(rs, 10 * MS, NO_MIN_RTT);
        assertThat(rs.valid()).isFalse();
        assertThat(rs.ackedSacked).isZero();
        assertThat(rs.rtt).isEqualTo(-1);
    }

    @Test void aRetransmissionIsSampledFromItsOwnSendAndGivesNoRtt() {
        send(0, 0);
        send(1, MS);
        sb.markLost(0);
        assertThat(sb.lostTotal()).isEqualTo(1000);
        sb.markRetransmitted(0, 30 * MS);
        sb.beginAck();
        sb.cumAck(S0 + 1000);
        sb.rateSample(rs, 40 * MS, NO_MIN_RTT);
        assertThat(rs.rtt).as("Karn: which transmission came back is unknown").isEqualTo(-1);
        assertThat(rs.delivered).isEqualTo(1000);
        assertThat(rs.interval).isEqualTo(40 * MS);
    }

    @Test void splittingARecordKeepsItsSnapshot() {
        send(0, 0);
        cumAck(1, 10 * MS);
        send(1, 11 * MS);
        send(2, 12 * MS);
        sb.beginAck();
        sb.sack(S0 + 1500, S0 + 2000); // splits #1: its second half is delivered
        sb.rateSample(rs, 30 * MS, NO_MIN_RTT);
        assertThat(rs.delivered).as("1000 delivered before #1 was sent, then 500").isEqualTo(500);
        assertThat(rs.priorDelivered).isEqualTo(1000);
        // nothing was in flight when #1 went out at 11 ms: the interval starts there
        assertThat(rs.interval).isEqualTo(19 * MS);
    }
}
