package org.kextnet.examples.netem;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.testkit.Datagram;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;
import org.kextnet.testkit.TestSocket;

/**
 * netem in an embedded kernel on a manual clock: each impairment, on output and on input, what its counters say, its
 * determinism from the seed, its bounds, its control, and that it frees what it holds.
 */
class NetemTest {
    private static EmbeddedKernel manual() {
        return EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
    }

    private static Netem netem(EmbeddedKernel k, String... commands) {
        Netem n = new Netem();
        assertThat(n.start(k.kpi(Netem.NAME))).isZero();
        for (String c : commands) assertThat(n.command(c)).as(c).doesNotStartWith("error");
        return n;
    }

    /** Datagram {@code i} to the peer's discard port: its payload is its number. */
    private static void send(EmbeddedKernel k, TestSocket so, int i) throws Exception {
        so.send(ByteBuffer.allocate(4).putInt(i).array(), SockAddr.of(k.peerIp(), 9));
    }

    /** The numbers of the datagrams waiting at the far end, in the order they left. */
    private static List<Integer> sent(EmbeddedKernel k) {
        List<Integer> out = new ArrayList<>();
        byte[] ip;
        while ((ip = k.readOutboundIp()) != null) {
            if (Frames.ipProtocol(ip) == Frames.PROTO_UDP) out.add(ByteBuffer.wrap(Frames.udpPayload(ip)).getInt());
        }
        return out;
    }

    /** Sends {@code n} datagrams, then lets {@code millis} pass; returns what left. */
    private static List<Integer> run(String set, int n, long millis) throws Exception {
        try (EmbeddedKernel k = manual()) {
            netem(k, set);
            try (TestSocket so = k.openUdp(0)) {
                for (int i = 0; i < n; i++) send(k, so, i);
                k.advanceTime(millis, TimeUnit.MILLISECONDS);
                return sent(k);
            }
        }
    }

    /** A counter of a {@code show} line. */
    static long counter(String show, String name) {
        for (String w : show.split("\\s+")) if (w.startsWith(name + "=")) return Long.parseLong(w.substring(name.length() + 1));
        throw new AssertionError("no " + name + " in " + show);
    }

    @Test void aDelayHoldsOutgoingFramesForThatLongOnTheKernelsClock() throws Exception {
        try (EmbeddedKernel k = manual(); TestSocket so = k.openUdp(0)) {
            Netem n = netem(k, "set wire0 out delay 20ms");
            send(k, so, 1);
            assertThat(k.outboundCount("wire0")).isZero();
            k.advanceTime(19, TimeUnit.MILLISECONDS);
            assertThat(k.outboundCount("wire0")).as("held until 20 ms").isZero();
            k.advanceTime(3, TimeUnit.MILLISECONDS);
            assertThat(sent(k)).containsExactly(1);
            assertThat(n.command("show")).isEqualTo("wire0 out delay=20ms jitter=0 loss=0% dup=0% reorder=0% rate=none limit=1000 seed=1 "
                    + "seen=1 passed=0 delayed=1 lost=0 duplicated=0 reordered=0 overflow=0 released=1 held=0");
            assertThat(k.leakedBuffers()).isZero();
        }
    }

    @Test void aDelayOnInputGivesTheFrameBackWithItsLinkHeader() throws Exception {
        try (EmbeddedKernel k = manual(); TestSocket so = k.openUdp(5000)) {
            netem(k, "set wire0 in delay 10ms");
            k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 5000, "late".getBytes(StandardCharsets.US_ASCII)));
            k.runPending();
            assertThat(so.available()).isZero();
            k.advanceTime(12, TimeUnit.MILLISECONDS);
            Datagram d = so.tryReceive();
            assertThat(d).isNotNull();
            assertThat(new String(d.data(), StandardCharsets.US_ASCII)).isEqualTo("late");
            assertThat(d.from()).isEqualTo(SockAddr.of(k.peerIp(), 4000));
            assertThat(k.leakedBuffers()).isZero();
        }
    }

    /** The same seed loses the same frames; another seed others; the share is about the one asked for. */
    @Test void lossIsDeterministicFromTheSeed() throws Exception {
        List<Integer> a = run("set wire0 out loss 30% seed 7", 400, 5);
        List<Integer> b = run("set wire0 out loss 30% seed 7", 400, 5);
        List<Integer> c = run("set wire0 out loss 30% seed 8", 400, 5);
        assertThat(a).isEqualTo(b).isNotEqualTo(c).isSorted();
        assertThat(a.size()).isBetween(240, 320);
        assertThat(c.size()).isBetween(240, 320);
    }

    @Test void duplicationSendsEachChosenFrameTwice() throws Exception {
        assertThat(run("set wire0 out dup 100%", 5, 2)).containsExactly(0, 1, 2, 3, 4, 0, 1, 2, 3, 4);   // copies a tick later
        assertThat(run("set wire0 out delay 5ms dup 100%", 3, 10)).containsExactly(0, 0, 1, 1, 2, 2);    // with their originals
        List<Integer> some = run("set wire0 out delay 1ms dup 20% seed 3", 200, 10);
        assertThat(some.size()).isBetween(220, 260);
        assertThat(some).isSorted();
    }

    /** Reordering sends a share of the frames at once, ahead of those held by the delay; every frame still arrives. */
    @Test void reorderingSendsSomeFramesAheadOfTheOthers() throws Exception {
        List<Integer> got = run("set wire0 out delay 10ms reorder 25% seed 5", 40, 20);
        assertThat(got).containsExactlyInAnyOrderElementsOf(java.util.stream.IntStream.range(0, 40).boxed().toList());
        assertThat(got).isNotEqualTo(got.stream().sorted().toList());
        try (EmbeddedKernel k = manual(); TestSocket so = k.openUdp(0)) {
            Netem n = netem(k, "set wire0 out delay 10ms reorder 25% seed 5");
            for (int i = 0; i < 40; i++) send(k, so, i);
            List<Integer> ahead = sent(k);                                 // before any time passed
            assertThat(ahead).isNotEmpty().isSorted();
            assertThat(counter(n.command("show wire0"), "reordered")).isEqualTo(ahead.size());
        }
    }

    /** Jitter varies each frame's delay but never its order. */
    @Test void jitterVariesTheDelayWithoutReordering() throws Exception {
        try (EmbeddedKernel k = manual(); TestSocket so = k.openUdp(0)) {
            netem(k, "set wire0 out delay 20ms jitter 10ms seed 11");
            List<Long> times = new ArrayList<>();
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                send(k, so, i);
                k.advanceTime(1, TimeUnit.MILLISECONDS);
                for (int x : sent(k)) {
                    order.add(x);
                    times.add((long) i);
                }
            }
            for (int t = 0; t < 40; t++) {
                k.advanceTime(1, TimeUnit.MILLISECONDS);
                for (int x : sent(k)) order.add(x);
            }
            assertThat(order).hasSize(50).isSorted();
            assertThat(times.getFirst()).as("the first frame waited 10 to 30 ms").isBetween(9L, 31L);
        }
    }

    /** 1 Mbit/s: a 1250-byte frame (with its headers) takes 10 ms on the link, and the next waits for it. */
    @Test void theRateSpacesFramesByTheirSize() throws Exception {
        try (EmbeddedKernel k = manual(); TestSocket so = k.openUdp(0)) {
            netem(k, "set wire0 out rate 1mbit");
            for (int i = 0; i < 3; i++) so.send(new byte[1250 - 14 - 20 - 8], SockAddr.of(k.peerIp(), 9));
            List<Integer> arrivals = new ArrayList<>();
            for (int t = 1; t <= 40; t++) {
                k.advanceTime(1, TimeUnit.MILLISECONDS);
                int n = k.drainOutbound("wire0").size();
                for (int j = 0; j < n; j++) arrivals.add(t);
            }
            assertThat(arrivals).hasSize(3);
            assertThat(arrivals.get(0)).isBetween(10, 11);
            assertThat(arrivals.get(1) - arrivals.get(0)).isEqualTo(10);
            assertThat(arrivals.get(2) - arrivals.get(1)).isEqualTo(10);
        }
    }

    @Test void theQueueIsBoundedAndCountsWhatItDrops() throws Exception {
        try (EmbeddedKernel k = manual(); TestSocket so = k.openUdp(0)) {
            Netem n = netem(k, "set wire0 out delay 100ms limit 5");
            for (int i = 0; i < 8; i++) send(k, so, i);
            String show = n.command("show");
            assertThat(counter(show, "held")).isEqualTo(5);
            assertThat(counter(show, "overflow")).isEqualTo(3);
            k.advanceTime(101, TimeUnit.MILLISECONDS);
            assertThat(sent(k)).containsExactly(0, 1, 2, 3, 4);
            assertThat(k.leakedBuffers()).isZero();
        }
    }

    @Test void wrongRequestsAreAnsweredWithAnErrorAndChangeNothing() throws Exception {
        try (EmbeddedKernel k = manual()) {
            Netem n = netem(k);
            assertThat(n.command("show")).isEqualTo("no impairment");
            assertThat(n.command("set em9 out delay 1ms")).isEqualTo("error: no interface em9");
            assertThat(n.command("set wire0 sideways delay 1ms")).isEqualTo("error: direction 'sideways' is not in, out or both");
            assertThat(n.command("set wire0 out delay 20")).isEqualTo("error: '20' is not a time (20ms, 500us, 1s)");
            assertThat(n.command("set wire0 out loss 200%")).isEqualTo("error: '200%' is outside 0%..100%");
            assertThat(n.command("set wire0 out loss 1")).isEqualTo("error: '1' is not a percentage (1%, 0.5%)");
            assertThat(n.command("set wire0 out rate fast")).isEqualTo("error: 'fast' is not a rate (100mbit, 1gbit, 64kbit)");
            assertThat(n.command("set wire0 out limit 0")).isEqualTo("error: limit 0 is outside 1..100000");
            assertThat(n.command("set wire0 out delay 1ms loss")).isEqualTo("error: 'loss' wants a value");
            assertThat(n.command("set wire0 out colour blue")).startsWith("error: unknown parameter 'colour'");
            assertThat(n.command("set wire0")).startsWith("error: set wants an interface and a direction");
            assertThat(n.command("clear wire0")).isEqualTo("error: no impairment on wire0");
            assertThat(n.command("shape wire0")).startsWith("error: unknown command 'shape wire0'");
            assertThat(n.command("show")).isEqualTo("no impairment");
            assertThat(k.extension(Netem.NAME).registrations()).extracting(r -> r.kind()).containsExactly("kctl");

            assertThat(n.command("set wire0 both delay 1.5ms jitter 500us loss 0.25% dup 0.5% reorder 2% rate 100mbit limit 10 seed -3"))
                    .isEqualTo("wire0 in delay=1500us jitter=500us loss=0.25% dup=0.5% reorder=2% rate=100mbit limit=10 seed=-3 "
                            + "seen=0 passed=0 delayed=0 lost=0 duplicated=0 reordered=0 overflow=0 released=0 held=0\n"
                            + "wire0 out delay=1500us jitter=500us loss=0.25% dup=0.5% reorder=2% rate=100mbit limit=10 seed=-3 "
                            + "seen=0 passed=0 delayed=0 lost=0 duplicated=0 reordered=0 overflow=0 released=0 held=0");
            assertThat(n.command("set wire0 out loss 2%")).as("a wrong set leaves the other direction").contains("wire0 in delay=1500us");
        }
    }

    /** clear lets the held frames go at once, in order; with nothing left the filter is detached; it can come back. */
    @Test void clearReleasesWhatIsHeldAndDetachesTheFilter() throws Exception {
        try (EmbeddedKernel k = manual(); TestSocket so = k.openUdp(0)) {
            Netem n = netem(k, "set wire0 both delay 1s");
            for (int i = 0; i < 3; i++) send(k, so, i);
            assertThat(n.command("clear wire0 in")).isEqualTo("cleared wire0 in");
            assertThat(n.command("show")).startsWith("wire0 out delay=1000ms ");
            assertThat(n.command("clear wire0")).isEqualTo("cleared wire0 both");
            assertThat(sent(k)).containsExactly(0, 1, 2);
            k.awaitDetached();
            assertThat(k.extension(Netem.NAME).registrations()).extracting(r -> r.kind()).containsExactly("kctl");
            assertThat(n.command("set wire0 out delay 1ms")).startsWith("wire0 out delay=1ms ");
            send(k, so, 3);
            k.advanceTime(3, TimeUnit.MILLISECONDS);
            assertThat(sent(k)).containsExactly(3);
        }
    }

    /** The control answers the same commands; stop detaches, frees the frames held, and leaves no registration. */
    @Test void theControlDrivesItAndStopFreesWhatItHolds() throws Exception {
        try (EmbeddedKernel k = manual(); TestSocket so = k.openUdp(0)) {
            Kpi kpi = k.kpi(Netem.NAME);
            Netem n = new Netem();
            assertThat(n.start(kpi)).isZero();
            try (ControlClient c = k.connectControl(Netem.NAME, 0, false)) {
                assertThat(c.send(ByteBuffer.wrap("set wire0 out delay 1s seed 42".getBytes(StandardCharsets.UTF_8)), 0)).isZero();
                ByteBuffer b = ByteBuffer.allocate(1024);
                assertThat(c.receive(b, 5, TimeUnit.SECONDS)).isPositive();
                assertThat(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8)).startsWith("wire0 out delay=1000ms ").contains(" seed=42 ");
            }
            for (int i = 0; i < 4; i++) send(k, so, i);
            assertThat(k.buffersInUse()).isGreaterThan(0);
            int r = n.stop(kpi);
            for (int i = 0; i < 100 && r == Errno.EBUSY; i++) {
                k.awaitDetached();
                r = n.stop(kpi);
            }
            assertThat(r).isZero();
            assertThat(kpi.registrations()).isEmpty();
            k.advanceTime(2, TimeUnit.SECONDS);
            assertThat(k.outboundCount("wire0")).as("nothing re-injected after stop").isZero();
            assertThat(k.leakedBuffers()).isZero();
            send(k, so, 9);                                                   // no filter: at once
            assertThat(sent(k)).containsExactly(9);
        }
    }
}
