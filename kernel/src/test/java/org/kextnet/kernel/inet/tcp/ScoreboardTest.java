package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ScoreboardTest {
    private static final int S0 = -3000; // wraps through 0

    /** Ten 100-byte records sent at t = 1..10. */
    private static Scoreboard ten() {
        Scoreboard sb = new Scoreboard();
        sb.init(S0);
        for (int i = 0; i < 10; i++) sb.append(S0 + 100 * i, S0 + 100 * (i + 1), i + 1, false);
        return sb;
    }

    @Test void thePipeCountsWhatIsInFlight() {
        Scoreboard sb = ten();
        assertThat(sb.pipe()).isEqualTo(1000);
        sb.beginAck();
        assertThat(sb.sack(S0 + 250, S0 + 650)).as("edges inside records split them").isEqualTo(400);
        assertThat(sb.count()).isEqualTo(12);
        assertThat(sb.pipe()).isEqualTo(600);
        sb.markLost(0);
        assertThat(sb.pipe()).isEqualTo(500);
        assertThat(sb.nextLost()).isZero();
        sb.markRetransmitted(0, 20);
        assertThat(sb.pipe()).isEqualTo(600); // RFC 6675 SetPipe: a retransmission in flight counts
        assertThat(sb.nextLost()).isEqualTo(-1);
        sb.markLostOnce(0);
        assertThat(sb.nextLost()).as("its repair is in flight").isEqualTo(-1);
        sb.beginAck();
        sb.cumAck(S0 + 150); // cuts record 1
        assertThat(sb.start(0)).isEqualTo(S0 + 150);
        assertThat(sb.pipe()).isEqualTo(450);
        assertThat(sb.deliveredAnyRetransmitted).isTrue();
        sb.beginAck();
        sb.cumAck(S0 + 1000);
        assertThat(sb.isEmpty()).isTrue();
        assertThat(sb.pipe()).isZero();
        assertThat(sb.sackedBytes() + sb.lostBytes() + sb.retransBytes()).isZero();
    }

    @Test void rackDeclaresLostWhatWasSentBeforeADeliveredSegmentOnceTheWindowPassed() {
        Scoreboard sb = ten();
        sb.beginAck();
        sb.sack(S0 + 500, S0 + 600); // record 5 (sent at 6) delivered at 26
        assertThat(sb.deliveredXmit).isEqualTo(6);
        long timeout = sb.rackDetectLoss(26, 6, S0 + 600, 20, 3);
        // records 0..4 were sent at 1..5: lost when xmit + rtt + reo <= now, i.e. xmit <= 3
        assertThat(sb.lostBytes()).isEqualTo(300);
        assertThat(timeout).isEqualTo(2); // record 4 (sent at 5): 5 + 20 + 3 - 26
        assertThat(sb.rackDetectLoss(28, 6, S0 + 600, 20, 3)).isZero();
        assertThat(sb.lostBytes()).isEqualTo(500);
        assertThat(sb.flags(6) & Scoreboard.LOST).as("sent after the delivered one: not judged").isZero();
    }

    @Test void dupThreshNeedsThreeSackedSegmentsOrTheirBytesAbove() {
        Scoreboard sb = ten();
        sb.beginAck();
        sb.sack(S0 + 100, S0 + 300);
        assertThat(sb.markLostByDupThresh(3, 100)).isFalse();
        sb.sack(S0 + 300, S0 + 400);
        assertThat(sb.markLostByDupThresh(3, 100)).isTrue();
        assertThat(sb.flags(0) & Scoreboard.LOST).isNotZero();
        assertThat(sb.flags(4) & Scoreboard.LOST).isZero();
    }

    @Test void reorderingIsSeenWhenAnOriginalArrivesBelowAnEarlierSack() {
        Scoreboard sb = ten();
        sb.beginAck();
        sb.sack(S0 + 500, S0 + 600);
        assertThat(sb.reorderingObserved).isFalse();
        sb.beginAck();
        sb.sack(S0 + 200, S0 + 300); // an original below FACK: it was late, not lost
        assertThat(sb.reorderingObserved).isTrue();
        sb.markLost(0);
        sb.markRetransmitted(0, 30);
        sb.beginAck();
        sb.cumAck(S0 + 100); // a retransmission below FACK says nothing about order
        assertThat(sb.reorderingObserved).isFalse();
    }

    @Test void anRtoForgetsSackMarksAndAPathMtuDropMarksLongRecords() {
        Scoreboard sb = ten();
        sb.beginAck();
        sb.sack(S0 + 500, S0 + 700);
        sb.markAllLost();
        assertThat(sb.sackedBytes()).isZero();
        assertThat(sb.lostBytes()).isEqualTo(1000);
        Scoreboard b = ten();
        b.split(3, S0 + 350);
        assertThat(b.markLongerLost(60)).isEqualTo(9); // the nine 100-byte records, not the two halves
        assertThat(b.lostBytes()).isEqualTo(900);
    }
}
