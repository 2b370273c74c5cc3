package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * BBR's state machine (draft-cardwell-iccrg-bbr-congestion-control-00) on virtual time: a sender with a real
 * {@link Scoreboard} (so real rate samples) and a {@link Bbr} or {@link Cubic}, paced as the controller asks,
 * through a bottleneck of fixed rate and a fixed propagation delay, one ACK per segment.
 */
class BbrTest {
    static final int MSS = 1000;
    static final long MS = 1_000_000L, SECOND = 1_000_000_000L;
    /** 10 MB/s and 20 ms: a BDP of 200 segments. */
    static final long BW = 10_000_000, RTT = 20 * MS, BDP = BW * RTT / SECOND;

    /** The path and the sender. Events are ACK arrivals and pacing times; nothing is lost unless a test says so. */
    static final class Path {
        final CongestionControl cc;
        final Scoreboard sb = new Scoreboard();
        final RateSample rs = new RateSample();
        long bw, rtt, now;
        /** The application's rate, bytes per second (0: it always has data), since {@link #appFrom} and segment {@link #appBase}. */
        long appRate, appFrom;
        int nextSegment, appBase;
        long nextSend, lastDeparture;
        int recovery = RateSample.OPEN;
        long lossToReport;
        private final ArrayDeque<long[]> acks = new ArrayDeque<>(); // {arrival, end of the segment}

        Path(CongestionControl cc, long bw, long rtt) {
            this.cc = cc;
            this.bw = bw;
            this.rtt = rtt;
            cc.init(10 * MSS, MSS, 0);
            sb.init(0);
        }

        Bbr bbr() { return (Bbr) cc; }

        private boolean hasData() { return appRate == 0 || nextSegment < appBase + appRate * (now - appFrom) / SECOND / MSS; }

        /** From now on the application writes {@code rate} bytes per second (0: as fast as it may). */
        void limitApplication(long rate) {
            appRate = rate;
            appFrom = now;
            appBase = nextSegment;
        }

        /** Runs to {@code until}, calling {@code afterAck} after each ACK's rate sample. */
        void runUntil(long until, Runnable afterAck) {
            while (now < until) {
                while (sb.pipe() < cc.cwnd() && hasData() && (cc.pacingRate() == 0 || nextSend <= now)) send();
                if (!hasData() && sb.pipe() < cc.cwnd()) sb.markAppLimited(sb.pipe());
                long next = acks.isEmpty() ? until : acks.peek()[0];
                if (cc.pacingRate() > 0 && sb.pipe() < cc.cwnd() && hasData()) next = Math.min(next, nextSend);
                if (appRate > 0 && !hasData()) next = Math.min(next, now + MS);
                now = Math.max(now, Math.min(next, until));
                while (!acks.isEmpty() && acks.peek()[0] <= now) {
                    ack((int) acks.poll()[1]);
                    afterAck.run();
                }
            }
        }

        private void send() {
            int start = nextSegment++ * MSS;
            sb.append(start, start + MSS, now, false);
            long departure = Math.max(now, lastDeparture) + MSS * SECOND / bw; // the bottleneck's queue
            lastDeparture = departure;
            acks.add(new long[] {departure + rtt, start + MSS});
            long rate = cc.pacingRate();
            if (rate > 0) nextSend = Math.max(nextSend, now) + MSS * SECOND / rate;
        }

        private void ack(int ack) {
            long before = sb.pipe();
            sb.beginAck();
            sb.cumAck(ack);
            sb.rateSample(rs, now, RttEstimator.NONE);
            rs.priorInFlight = before;
            rs.inFlight = sb.pipe();
            rs.newlyLost = lossToReport;
            lossToReport = 0;
            rs.recovery = recovery;
            if (recovery == RateSample.OPEN) cc.onAck(rs.ackedSacked, true, now, rtt);
            cc.onRateSample(rs, now);
            if (cc.holdsWindowDown()) sb.markAppLimited(sb.pipe());
        }
    }

    record Change<T>(long time, T value) { }

    private static Path toProbeBw() {
        Path p = new Path(new Bbr(), BW, RTT);
        p.runUntil(2 * SECOND, () -> { });
        assertThat(p.bbr().mode()).isEqualTo(Bbr.Mode.PROBE_BW);
        return p;
    }

    @Test void startupFillsThePipeInAFewRoundsThenDrainsToOneBdp() {
        Path p = new Path(new Bbr(), BW, RTT);
        List<Change<Bbr.Mode>> modes = new ArrayList<>();
        long[] roundsAtDrain = {-1}, inflightAtProbeBw = {-1};
        double[] gains = new double[4];
        p.runUntil(2 * SECOND, () -> {
            Bbr b = p.bbr();
            if (modes.isEmpty() || modes.getLast().value() != b.mode()) {
                modes.add(new Change<>(p.now, b.mode()));
                if (b.mode() == Bbr.Mode.DRAIN) roundsAtDrain[0] = b.rounds();
                if (b.mode() == Bbr.Mode.PROBE_BW) inflightAtProbeBw[0] = p.sb.pipe();
            }
            gains[b.mode().ordinal()] = b.pacingGain();
        });
        Bbr b = p.bbr();
        assertThat(modes.stream().map(Change::value).toList()).containsExactly(Bbr.Mode.STARTUP, Bbr.Mode.DRAIN, Bbr.Mode.PROBE_BW);
        assertThat(gains[Bbr.Mode.STARTUP.ordinal()]).isEqualTo(2 / Math.log(2));
        assertThat(gains[Bbr.Mode.DRAIN.ordinal()]).isEqualTo(Math.log(2) / 2, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(b.fullBwReached()).isTrue();
        // 10 -> 200 segments doubling per round is 5 rounds, then 3 without growth
        assertThat(roundsAtDrain[0]).isBetween(6L, 11L);
        assertThat((double) b.btlBw()).isCloseTo(BW, withinPercentage(2));
        assertThat((double) b.minRtt()).isCloseTo(RTT + MSS * SECOND / BW, withinPercentage(1));
        assertThat(inflightAtProbeBw[0]).as("drained to about one BDP").isLessThanOrEqualTo(b.inflight(1.0));
        // a BDP and an allowance of three 1 ms send quanta (30 segments at this rate), an even number of segments
        assertThat(b.inflight(1.0)).isBetween(BDP + 29 * MSS, BDP + 32 * MSS);
        // PROBE_BW's window: twice the BDP, the allowance, and two more segments in the probing phase
        assertThat(b.cwnd()).isBetween(2 * BDP + 29 * MSS, 2 * BDP + 34 * MSS);
        assertThat(b.pacingRate()).as("the estimate, less 1 %, at gain 1, 1.25 or 0.75")
                .isIn((long) (b.btlBw() * 0.99), (long) (b.btlBw() * 1.25 * 0.99), (long) (b.btlBw() * 0.75 * 0.99));
    }

    @Test void theFirstRttSetsThePacingRateFromTheInitialWindowAndStartupOnlyRaisesIt() {
        Path p = new Path(new Bbr(), BW, RTT);
        assertThat(p.cc.pacingRate()).as("no RTT yet: the initial window goes at once").isZero();
        List<Long> rates = new ArrayList<>();
        p.runUntil(2 * SECOND, () -> {
            if (p.bbr().mode() == Bbr.Mode.STARTUP) rates.add(p.cc.pacingRate());
        });
        long first = rates.getFirst();
        assertThat((double) first).isCloseTo(2 / Math.log(2) * 10 * MSS * SECOND / p.bbr().minRtt(), withinPercentage(1));
        assertThat(rates).isSorted();
        assertThat(rates.getLast()).isGreaterThan(2 * BW);
    }

    @Test void probeBwCyclesThroughItsEightPhasesEachAtLeastOneRtprop() {
        Path p = toProbeBw();
        List<Change<Integer>> phases = new ArrayList<>();
        p.runUntil(4 * SECOND, () -> {
            int i = p.bbr().cycleIndex();
            if (phases.isEmpty() || phases.getLast().value() != i) phases.add(new Change<>(p.now, i));
            assertThat(p.bbr().pacingGain()).isEqualTo(Bbr.GAIN_CYCLE[i]);
        });
        assertThat(phases.size()).as("two seconds of 20 ms phases").isGreaterThan(60);
        for (int k = 1; k < phases.size(); k++) {
            assertThat(phases.get(k).value()).isEqualTo((phases.get(k - 1).value() + 1) % 8);
            if (k > 1) assertThat(phases.get(k).time() - phases.get(k - 1).time()).isGreaterThan(p.bbr().minRtt());
        }
        assertThat(Bbr.GAIN_CYCLE).containsExactly(1.25, 0.75, 1, 1, 1, 1, 1, 1);
    }

    @Test void probeRttHoldsFourSegmentsForTwoHundredMillisecondsTenSecondsAfterTheLastLowerRtt() {
        Path p = new Path(new Bbr(), BW, RTT);
        long[] minRttSetAt = {0}, entered = {-1}, left = {-1};
        long[] rtprop = {Long.MAX_VALUE}, windowBefore = {0};
        p.runUntil(12 * SECOND, () -> {
            Bbr b = p.bbr();
            if (b.minRtt() < rtprop[0]) {
                rtprop[0] = b.minRtt();
                minRttSetAt[0] = p.now;
            }
            if (b.mode() == Bbr.Mode.PROBE_RTT) {
                if (entered[0] < 0) entered[0] = p.now;
                assertThat(b.cwnd()).isLessThanOrEqualTo(4 * MSS);
                assertThat(b.holdsWindowDown()).isTrue();
            } else if (entered[0] < 0) {
                windowBefore[0] = b.cwnd();
            } else if (left[0] < 0) {
                left[0] = p.now;
                assertThat(b.mode()).isEqualTo(Bbr.Mode.PROBE_BW);
                assertThat(b.cwnd()).as("the window before PROBE_RTT is back").isGreaterThanOrEqualTo(windowBefore[0]);
            }
        });
        assertThat(entered[0] - minRttSetAt[0]).isBetween(10 * SECOND, 10 * SECOND + 50 * MS);
        assertThat(left[0] - entered[0]).as("200 ms at 4 segments, after draining to them, and a round").isBetween(200 * MS, 350 * MS);
        assertThat(p.bbr().mode()).isEqualTo(Bbr.Mode.PROBE_BW);
    }

    @Test void aLowerRttPostponesProbeRtt() {
        Path p = new Path(new Bbr(), BW, RTT);
        p.runUntil(5 * SECOND, () -> { });
        p.rtt = RTT - 2 * MS; // a shorter route: RTprop falls, which shows once the queue is gone
        p.limitApplication(BW / 2);
        boolean[] probed = {false};
        p.runUntil(14 * SECOND, () -> probed[0] |= p.bbr().mode() == Bbr.Mode.PROBE_RTT);
        assertThat(probed[0]).as("no PROBE_RTT within 10 s of the lower RTT").isFalse();
        assertThat(p.bbr().minRtt()).isLessThan(RTT - MS);
    }

    /** CUBIC cuts its window by 30 % for a single loss; BBR's model did not change, and neither does its window. */
    @Test void aRandomLossLeavesTheWindowWhereCubicCutsIt() {
        Path p = toProbeBw();
        long w = p.cc.cwnd(), bw = p.bbr().btlBw();
        p.cc.onCongestionEvent(p.sb.pipe(), p.now);
        p.recovery = RateSample.RECOVERY;
        p.lossToReport = MSS;
        long[] lowest = {Long.MAX_VALUE};
        p.runUntil(p.now + RTT + 5 * MS, () -> lowest[0] = Math.min(lowest[0], p.cc.cwnd()));
        assertThat(lowest[0]).as("packet conservation keeps what is in flight").isGreaterThanOrEqualTo(p.sb.pipe() - 2 * MSS);
        p.recovery = RateSample.OPEN;
        p.runUntil(p.now + 5 * MS, () -> { });
        assertThat(p.cc.cwnd()).isGreaterThanOrEqualTo(w - 2 * MSS);
        assertThat((double) p.bbr().btlBw()).isCloseTo(bw, withinPercentage(2));

        Path c = new Path(new Cubic(), BW, RTT);
        c.runUntil(2 * SECOND, () -> { });
        long cw = c.cc.cwnd();
        c.cc.onCongestionEvent(c.sb.pipe(), c.now);
        assertThat((double) c.cc.cwnd()).isCloseTo(0.7 * c.sb.pipe(), withinPercentage(1));
        assertThat(c.cc.cwnd()).isLessThan(cw);
    }

    @Test void aTimeoutDropsTheWindowToOneSegmentAndItsEndRestoresIt() {
        Path p = toProbeBw();
        long w = p.cc.cwnd();
        p.cc.onTimeout(p.sb.pipe(), p.now, true);
        assertThat(p.cc.cwnd()).isEqualTo(MSS);
        p.recovery = RateSample.LOSS;
        p.runUntil(p.now + 2 * MS, () -> { });
        assertThat(p.cc.cwnd()).as("regrows by what is delivered").isGreaterThan(MSS).isLessThan(w);
        p.recovery = RateSample.OPEN;
        p.runUntil(p.now + 2 * MS, () -> { });
        assertThat(p.cc.cwnd()).isGreaterThanOrEqualTo(w);
    }

    @Test void anApplicationLimitedSenderDoesNotLowerTheBandwidthEstimateButASlowerPathDoes() {
        Path p = toProbeBw();
        p.limitApplication(BW / 10); // the application now writes at a tenth of the path's rate
        p.runUntil(p.now + 2 * SECOND, () -> { });
        assertThat((double) p.bbr().btlBw()).as("100 rounds of app-limited samples").isCloseTo(BW, withinPercentage(2));

        Path q = toProbeBw();
        q.bw = BW / 4;
        q.runUntil(q.now + 2 * SECOND, () -> { });
        assertThat((double) q.bbr().btlBw()).isCloseTo(BW / 4, withinPercentage(3));
    }

    @Test void theWindowedMaxForgetsAMaximumOlderThanItsWindow() {
        Bbr.WindowedMax m = new Bbr.WindowedMax();
        m.update(10, 0, 100);
        for (long t = 1; t <= 10; t++) assertThat(m.update(10, t, 50 + t)).isEqualTo(100);
        assertThat(m.update(10, 11, 40)).as("100 aged out; the best of the last 10 is what is left").isBetween(55L, 60L);
        assertThat(m.update(10, 30, 30)).as("everything aged out").isEqualTo(30);
        assertThat(m.update(10, 31, 70)).isEqualTo(70);
    }

    @Test void bbrIsKnownByName() {
        assertThat(CongestionControl.create("bbr")).isInstanceOf(Bbr.class);
        assertThat(CongestionControl.create("cubic").pacingRate()).as("the loss-based ones do not pace").isZero();
        assertThat(CongestionControl.create("newreno").pacingRate()).isZero();
    }
}
