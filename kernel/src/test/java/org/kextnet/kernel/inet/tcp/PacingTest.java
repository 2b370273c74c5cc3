package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.MS;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.SECOND;

import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Impairment;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Seg;

/**
 * The {@link Pacer} in a whole connection on virtual time ({@link TcpTestNet}): a controller's pacing rate
 * spaces the segments the connection sends, and the timer wheel's 1 ms ticks do not cap the rate.
 */
class PacingTest {
    /** A controller that only paces: 1 MB/s, and a window that never limits. */
    static final class FixedRate implements CongestionControl {
        static final long RATE = 1_000_000;
        @Override public String name() { return "test-fixed-rate"; }
        @Override public void init(long initialWindow, int smss, long now) { }
        @Override public long cwnd() { return 1 << 20; }
        @Override public long ssthresh() { return Long.MAX_VALUE; }
        @Override public void setMss(int smss) { }
        @Override public void onAck(long ackedBytes, boolean cwndLimited, long now, long srtt) { }
        @Override public void onCongestionEvent(long flightSize, long now) { }
        @Override public void onRecoveryEnd(long flightSize, long now) { }
        @Override public void onTimeout(long flightSize, long now, boolean first) { }
        @Override public void undo(long now) { }
        @Override public void onIdle(long restartWindow, long now) { }
        @Override public long pacingRate() { return RATE; }
    }

    @BeforeAll static void register() { CongestionControl.KNOWN.put("test-fixed-rate", FixedRate::new); }

    @AfterAll static void unregister() { CongestionControl.KNOWN.remove("test-fixed-rate"); }

    /** The data segments host A sent when it wrote {@code bytes} at once with controller {@code cc}. */
    private static List<Seg> dataSent(String cc, int bytes) throws Exception {
        TcpConfig ca = new TcpConfig();
        ca.congestionControl = cc;
        try (TcpTestNet net = new TcpTestNet(ca, new TcpConfig(), 5)) {
            net.a.out = Impairment.delay(5 * MS);
            net.b.out = Impairment.delay(5 * MS);
            Pump client = new Pump(bytes, 1), server = new Pump(0, 2);
            TcpTestNet.Events le = new TcpTestNet.Events();
            le.childUpcall = server;
            net.b.stack.listen(net.b.at(80), 4, new TcpSocketOptions(), le);
            net.a.stack.open(client).connect(net.b.at(80));
            net.runUntil(() -> server.received == bytes, 60 * SECOND);
            return net.sentBy("A").stream().filter(s -> s.len() > 0).toList();
        }
    }

    @Test void aPacingRateSpacesTheSegmentsAndTimerTicksDoNotCapIt() throws Exception {
        int bytes = 400_000;
        List<Seg> paced = dataSent("test-fixed-rate", bytes);
        long first = paced.getFirst().time(), last = paced.getLast().time();
        int mss = paced.getFirst().len();
        // a burst may go ahead of its time by two ticks or two segments, whichever is longer; never more
        long burst = Math.max(2 * MS, 2L * mss * SECOND / FixedRate.RATE);
        for (Seg s : paced) {
            long window = 20 * MS;
            long inWindow = paced.stream().filter(o -> o.time() >= s.time() && o.time() < s.time() + window).mapToLong(Seg::len).sum();
            assertThat(inWindow).as("bytes sent in 20 ms from %d", s.time()).isLessThanOrEqualTo(FixedRate.RATE * (window + burst) / SECOND + mss);
        }
        // and the 1 ms timer does not slow it down: the whole transfer at the rate, within a few percent
        double rate = (double) (bytes - paced.getLast().len()) * SECOND / (last - first);
        assertThat(rate).isCloseTo(FixedRate.RATE, withinPercentage(5));

        List<Seg> unpaced = dataSent("cubic", bytes);
        long t0 = unpaced.getFirst().time();
        assertThat(unpaced.stream().limit(10).allMatch(s -> s.time() == t0)).as("CUBIC sends its initial window at once").isTrue();
    }
}
