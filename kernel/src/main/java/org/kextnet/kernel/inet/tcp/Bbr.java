package org.kextnet.kernel.inet.tcp;

import java.util.SplittableRandom;

/**
 * BBR version 1 (draft-cardwell-iccrg-bbr-congestion-control-00, the model Linux's tcp_bbr.c runs): a
 * model-based controller that paces at its estimate of the path's bottleneck bandwidth and keeps about two
 * bandwidth-delay products in flight, instead of backing off on every loss as a loss-based controller does.
 * Random loss therefore costs it little: CUBIC and NewReno sit on the Mathis bound (about 7 Mbit/s at 1 % loss
 * and 20 ms), BBR near the path's rate.
 *
 * <ul>
 * <li>The model: BtlBw, the largest delivery rate ({@link RateSample}) over the last 10 round trips (rounds
 *     counted by the delivered count; application-limited samples count only when they raise it), and RTprop,
 *     the smallest RTT over the last 10 s.</li>
 * <li>STARTUP paces and sizes the window at 2/ln 2 times the model until the bandwidth has not grown by 25 % in
 *     three rounds (the pipe is full); DRAIN paces at the inverse until the flight is one BDP; PROBE_BW cycles
 *     its pacing gain through 1.25, 0.75 and six times 1, one RTprop each, with a window of twice the BDP;
 *     PROBE_RTT holds the window at 4 segments for 200 ms and a round when RTprop has not been lowered for
 *     10 s, so that a queue it built does not become the path's delay.</li>
 * <li>Loss: in the first round of recovery the window follows packet conservation (what is in flight plus
 *     what was delivered); newly lost bytes come off the window; when recovery ends the window before it is
 *     restored. A retransmission timeout drops the window to one segment (it regrows by what is delivered)
 *     and restarts the full-pipe estimate; the window before it is restored when the recovery ends.</li>
 * </ul>
 * Not here: v1's long-term bandwidth sampling for token-bucket policers, the ACK-aggregation allowance of later
 * Linux versions, and v2/v3's loss and ECN bounds.
 *
 * <p>Windows are in bytes, rates in bytes per second, times in nanoseconds. Called under the connection's lock.
 */
final class Bbr implements CongestionControl {
    enum Mode { STARTUP, DRAIN, PROBE_BW, PROBE_RTT }

    /** The smallest gain with which STARTUP doubles its sending rate each round: 2/ln 2. */
    static final double HIGH_GAIN = 2 / Math.log(2);
    static final double DRAIN_GAIN = 1 / HIGH_GAIN;
    static final double CWND_GAIN = 2;
    /** PROBE_BW's pacing gains, one phase per RTprop: probe for more, drain the queue that made, cruise. */
    static final double[] GAIN_CYCLE = {1.25, 0.75, 1, 1, 1, 1, 1, 1};
    static final int BW_WINDOW_ROUNDS = 10;
    static final long MIN_RTT_WINDOW = 10_000_000_000L, PROBE_RTT_TIME = 200_000_000L;
    static final int MIN_CWND_SEGMENTS = 4;
    static final double FULL_BW_GROWTH = 1.25;
    static final int FULL_BW_ROUNDS = 3;
    /** Pace 1 % below the estimate, so that the queue the estimate's error builds drains (Linux's bbr_pacing_margin_percent). */
    static final double PACING_MARGIN = 0.99;
    private static final long NONE = Long.MAX_VALUE;

    private int smss;
    private long cwnd, priorCwnd, initialWindow;
    private Mode mode = Mode.STARTUP;
    private double pacingGain = HIGH_GAIN, cwndGain = HIGH_GAIN;
    private long pacingRate;
    private final WindowedMax btlBw = new WindowedMax();
    private long minRtt = NONE, minRttStamp;
    /** Round trips so far, the delivered count that ends the current one, and whether this ACK began one. */
    private long rounds, nextRoundDelivered;
    private boolean roundStart;
    private long fullBw;
    private int fullBwCount;
    private boolean fullBwReached;
    private int cycleIndex;
    private long cycleStamp;
    private long probeRttDone = NONE;
    private boolean probeRttRoundDone;
    private boolean packetConservation;
    private int priorRecovery = RateSample.OPEN;
    private boolean idleRestart;
    private SplittableRandom random;

    @Override public String name() { return "bbr"; }

    @Override public void init(long initialWindow, int smss, long now) {
        this.smss = smss;
        this.cwnd = initialWindow;
        this.initialWindow = initialWindow;
        this.minRttStamp = now;
        this.random = new SplittableRandom(now); // the first PROBE_BW phase; reproducible on a manual clock
        enterStartup();
    }

    @Override public long cwnd() { return cwnd; }
    /** BBR keeps no slow-start threshold. */
    @Override public long ssthresh() { return Long.MAX_VALUE; }
    @Override public void setMss(int smss) { this.smss = smss; }
    @Override public long pacingRate() { return pacingRate; }
    @Override public boolean holdsWindowDown() { return mode == Mode.PROBE_RTT; }

    Mode mode() { return mode; }
    long btlBw() { return btlBw.get(); }
    long minRtt() { return minRtt; }
    long rounds() { return rounds; }
    boolean fullBwReached() { return fullBwReached; }
    double pacingGain() { return pacingGain; }
    int cycleIndex() { return cycleIndex; }

    /** BBR grows on rate samples, not on the ACK count. */
    @Override public void onAck(long ackedBytes, boolean cwndLimited, long now, long srtt) { }

    @Override public void onCongestionEvent(long flightSize, long now) {
        saveCwnd(); // the recovery itself begins at the next rate sample, which says it is in recovery
    }

    @Override public void onRecoveryEnd(long flightSize, long now) { }

    @Override public void onTimeout(long flightSize, long now, boolean first) {
        if (first) saveCwnd();
        priorRecovery = RateSample.LOSS; // no packet conservation after a timeout: the window regrows from one segment
        fullBw = 0; // the full-pipe check starts again
        cwnd = smss;
    }

    /** A spurious recovery: the full-pipe estimate it may have stalled starts again, the window before it comes back. */
    @Override public void undo(long now) {
        fullBw = 0;
        fullBwCount = 0;
        cwnd = Math.max(cwnd, priorCwnd);
    }

    @Override public void onIdle(long restartWindow, long now) {
        cwnd = Math.min(cwnd, Math.max(restartWindow, minCwnd()));
        idleRestart = true;
        if (mode == Mode.PROBE_BW) setPacingRate(1.0); // no probing burst after idle
    }

    @Override public void onRateSample(RateSample rs, long now) {
        updateBandwidth(rs);
        if (mode == Mode.PROBE_BW && nextCyclePhase(rs, now)) advanceCycle(now);
        checkFullPipe(rs);
        checkDrain(rs, now);
        updateMinRtt(rs, now);
        setPacingRate(pacingGain);
        setCwnd(rs);
    }

    private void updateBandwidth(RateSample rs) {
        roundStart = false;
        if (rs.delivered <= 0 || !rs.valid()) return;
        if (rs.priorDelivered >= nextRoundDelivered) { // the segment that ended the last round is delivered
            nextRoundDelivered = rs.totalDelivered;
            rounds++;
            roundStart = true;
            packetConservation = false;
        }
        long bw = rs.rate();
        // An app-limited sample measures the application, not the path, unless it shows the path is faster.
        if (!rs.appLimited || bw >= btlBw.get()) btlBw.update(BW_WINDOW_ROUNDS, rounds, bw);
    }

    /** PROBE_BW: a phase lasts one RTprop; probing also waits for a loss or its inflight, draining ends early at one BDP. */
    private boolean nextCyclePhase(RateSample rs, long now) {
        boolean fullLength = now - cycleStamp > minRtt;
        if (pacingGain == 1.0) return fullLength;
        if (pacingGain > 1.0) return fullLength && (rs.newlyLost > 0 || rs.priorInFlight >= inflight(pacingGain));
        return fullLength || rs.priorInFlight <= inflight(1.0);
    }

    private void advanceCycle(long now) {
        cycleIndex = (cycleIndex + 1) % GAIN_CYCLE.length;
        cycleStamp = now;
        pacingGain = GAIN_CYCLE[cycleIndex];
    }

    /** STARTUP ends when three rounds in a row did not raise BtlBw by 25 %. */
    private void checkFullPipe(RateSample rs) {
        if (fullBwReached || !roundStart || rs.appLimited) return;
        long bw = btlBw.get();
        if (bw >= fullBw * FULL_BW_GROWTH) {
            fullBw = bw;
            fullBwCount = 0;
            return;
        }
        fullBwReached = ++fullBwCount >= FULL_BW_ROUNDS;
    }

    private void checkDrain(RateSample rs, long now) {
        if (mode == Mode.STARTUP && fullBwReached) {
            mode = Mode.DRAIN;
            pacingGain = DRAIN_GAIN;
            cwndGain = HIGH_GAIN;
        }
        if (mode == Mode.DRAIN && rs.inFlight <= inflight(1.0)) enterProbeBw(now);
    }

    private void updateMinRtt(RateSample rs, long now) {
        boolean expired = now - minRttStamp > MIN_RTT_WINDOW;
        if (rs.rtt >= 0 && (rs.rtt < minRtt || expired)) {
            minRtt = rs.rtt;
            minRttStamp = now;
        }
        if (expired && !idleRestart && mode != Mode.PROBE_RTT) {
            mode = Mode.PROBE_RTT;
            pacingGain = 1;
            cwndGain = 1;
            saveCwnd();
            probeRttDone = NONE;
        }
        if (mode == Mode.PROBE_RTT) {
            if (probeRttDone == NONE && rs.inFlight <= minCwnd()) { // drained: hold it 200 ms and a round
                probeRttDone = now + PROBE_RTT_TIME;
                probeRttRoundDone = false;
                nextRoundDelivered = rs.totalDelivered;
            } else if (probeRttDone != NONE) {
                if (roundStart) probeRttRoundDone = true;
                if (probeRttRoundDone && now - probeRttDone > 0) {
                    minRttStamp = now; // the next PROBE_RTT is 10 s away unless RTprop rises
                    cwnd = Math.max(cwnd, priorCwnd);
                    if (fullBwReached) enterProbeBw(now);
                    else enterStartup();
                }
            }
        }
        if (rs.ackedSacked > 0) idleRestart = false;
    }

    private void enterStartup() {
        mode = Mode.STARTUP;
        pacingGain = HIGH_GAIN;
        cwndGain = HIGH_GAIN;
    }

    /** PROBE_BW starts in a random phase other than the draining one (Linux's choice: flows do not probe in step). */
    private void enterProbeBw(long now) {
        mode = Mode.PROBE_BW;
        cwndGain = CWND_GAIN;
        cycleIndex = GAIN_CYCLE.length - 1 - random.nextInt(GAIN_CYCLE.length - 1);
        advanceCycle(now);
    }

    private void saveCwnd() {
        if (priorRecovery == RateSample.OPEN && mode != Mode.PROBE_RTT) priorCwnd = cwnd;
        else priorCwnd = Math.max(priorCwnd, cwnd);
    }

    /**
     * The first RTT sets the rate from the initial window (the first samples, a segment or two per RTT, would be
     * far too low); until the pipe is full the rate only rises.
     */
    private void setPacingRate(double gain) {
        if (pacingRate == 0 && minRtt != NONE && minRtt > 0) pacingRate = (long) (HIGH_GAIN * Math.max(cwnd, initialWindow) * 1e9 / minRtt);
        long bw = btlBw.get();
        if (bw == 0) return;
        long rate = (long) (bw * gain * PACING_MARGIN);
        if (fullBwReached || rate > pacingRate) pacingRate = rate;
    }

    private void setCwnd(RateSample rs) {
        long acked = rs.ackedSacked;
        if (acked > 0) {
            long c = cwnd;
            if (rs.newlyLost > 0) c = Math.max(c - rs.newlyLost, smss);
            if (rs.recovery == RateSample.RECOVERY && priorRecovery != RateSample.RECOVERY) {
                // The first round of recovery: send one segment per segment delivered (packet conservation).
                packetConservation = true;
                nextRoundDelivered = rs.totalDelivered;
                c = rs.inFlight + acked;
            } else if (priorRecovery != RateSample.OPEN && rs.recovery == RateSample.OPEN) {
                c = Math.max(c, priorCwnd); // recovery is over: the window it cut comes back
                packetConservation = false;
            }
            priorRecovery = rs.recovery;
            if (packetConservation) {
                c = Math.max(c, rs.inFlight + acked);
            } else {
                long target = inflight(cwndGain);
                if (fullBwReached) c = Math.min(c + acked, target);
                else if (c < target || rs.totalDelivered < initialWindow) c += acked;
                c = Math.max(c, minCwnd());
            }
            cwnd = c;
        }
        if (mode == Mode.PROBE_RTT) cwnd = Math.min(cwnd, minCwnd());
    }

    private long minCwnd() { return (long) MIN_CWND_SEGMENTS * smss; }

    /**
     * The window for {@code gain} times the BDP, plus room for three send quanta (so pacing in bursts does not
     * starve the pipe), rounded up to an even number of segments (delayed ACKs), plus two segments in the
     * probing phase. The initial window while RTprop is unknown.
     */
    long inflight(double gain) {
        if (minRtt == NONE) return initialWindow;
        long bdp = (long) Math.ceil(btlBw.get() * (minRtt / 1e9) * gain);
        long segments = (bdp + 3 * sendQuantum() + smss - 1) / smss;
        segments += segments & 1;
        if (mode == Mode.PROBE_BW && cycleIndex == 0) segments += 2;
        return segments * smss;
    }

    /** About 1 ms of data at the pacing rate, at least two segments (one below 1.2 Mbit/s), at most 64 KB. */
    private long sendQuantum() {
        long min = pacingRate < 150_000 ? smss : 2L * smss;
        return Math.min(Math.max(pacingRate >> 10, min), 65536);
    }

    /**
     * A running maximum over a window (Kathleen Nichols' algorithm, as in Linux's lib/minmax.c): the best,
     * second-best and third-best samples of successive sub-windows with their times, so the maximum of the
     * window is known in O(1) and an old maximum ages out without keeping every sample.
     */
    static final class WindowedMax {
        private final long[] value = new long[3], time = new long[3];

        long get() { return value[0]; }

        /** Adds sample {@code v} at time {@code t} (times only grow); returns the maximum over the last {@code window}. */
        long update(long window, long t, long v) {
            if (v >= value[0] || t - time[2] > window) { // a new maximum, or everything aged out
                for (int i = 0; i < 3; i++) set(i, t, v);
                return v;
            }
            if (v >= value[1]) {
                set(1, t, v);
                set(2, t, v);
            } else if (v >= value[2]) {
                set(2, t, v);
            }
            long dt = t - time[0];
            if (dt > window) { // the best is too old: the second becomes the best (and maybe the third too)
                set(0, time[1], value[1]);
                set(1, time[2], value[2]);
                set(2, t, v);
                if (t - time[0] > window) {
                    set(0, time[1], value[1]);
                    set(1, time[2], value[2]);
                    set(2, t, v);
                }
            } else if (time[1] == time[0] && dt > window / 4) { // a quarter in, pick a fresh second best
                set(1, t, v);
                set(2, t, v);
            } else if (time[2] == time[1] && dt > window / 2) { // half way, a fresh third best
                set(2, t, v);
            }
            return value[0];
        }

        private void set(int i, long t, long v) {
            time[i] = t;
            value[i] = v;
        }
    }
}
