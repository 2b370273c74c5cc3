package org.kextnet.kernel.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.wire.Ipv4;

/**
 * One kernel under test, with a synthetic clock (no timer thread) and small buffer pools of its own, whose
 * Ethernet interfaces {@code em0}, {@code em1}, ... are each plugged into a memory wire in poll mode: a
 * {@link KernelHarness} with the addresses the packet-level tests' {@link Pkt} assumes. The other end of each
 * wire is a {@link Peer}: the test sends frames from it, which the stack processes on the test's thread (on
 * {@link #ctx}) before {@code send} returns, and reads what the stack transmitted.
 *
 * <p>{@link #close} is the leak check: it closes sockets, lets every timeout expire, drains the wires, stops
 * the kernel and asserts that every buffer went back to its pool and that no input raised an exception.
 */
public final class TestNet implements AutoCloseable {
    public static final int OUR_IP = Ipv4.parse("10.0.0.1"), PEER_IP = Ipv4.parse("10.0.0.2");
    public static final int OUR_IP1 = Ipv4.parse("10.1.0.1"), PEER_IP1 = Ipv4.parse("10.1.0.2");
    public static final long OUR_MAC = 0x02_00_00_00_00_01L, PEER_MAC = 0x02_00_00_00_00_02L;
    public static final long OUR_MAC1 = 0x02_00_00_00_01_01L, PEER_MAC1 = 0x02_00_00_00_01_02L;

    /** Starts a minute before the {@code long} wraps, so every deadline a test crosses also checks that the kernel
     * compares times overflow-safely ({@code a - b < 0}), as System.nanoTime requires. */
    public final ManualClock clock = new ManualClock(Long.MAX_VALUE - TimeUnit.MINUTES.toNanos(1));
    public final KernelHarness harness;
    public final Buffers buffers;
    public final Kernel kernel;
    /** The context the test thread runs packet code with. */
    public final PacketContext ctx;
    private final List<Peer> peers = new ArrayList<>();
    private Map<Stat, Long> mark;
    private boolean closed;

    /** What to set up. */
    public static final class Builder {
        private int links = 1, smallBuffers = 512, largeBuffers = 8, mtu = 1500;
        private boolean forwarding, staticArp = true;

        public Builder links(int n) { links = n; return this; }
        public Builder smallBuffers(int n) { smallBuffers = n; return this; }
        public Builder largeBuffers(int n) { largeBuffers = n; return this; }
        public Builder mtu(int n) { mtu = n; return this; }
        public Builder forwarding(boolean on) { forwarding = on; return this; }
        /** Whether each peer's address starts in the ARP cache as a static entry (default yes). */
        public Builder staticArp(boolean on) { staticArp = on; return this; }
        public TestNet build() { return new TestNet(this); }
    }

    public static Builder builder() { return new Builder(); }
    /** em0 = 10.0.0.1/24, the peer 10.0.0.2 known by ARP. */
    public static TestNet oneLink() { return builder().build(); }
    /** em0 = 10.0.0.1/24 and em1 = 10.1.0.1/24, forwarding on, both peers known by ARP. */
    public static TestNet twoLinks() { return builder().links(2).forwarding(true).build(); }

    private TestNet(Builder b) {
        // Rings of the memory wire's default size, as before: the harness's larger default is for paced sources.
        KernelHarness.Builder h = KernelHarness.builder().name("test").clock(clock).buffers(b.smallBuffers, b.largeBuffers)
                .ringSize(4096).mtu(b.mtu).forwarding(b.forwarding).staticArp(b.staticArp);
        for (int i = 0; i < b.links; i++) {
            long ourMac = i == 0 ? OUR_MAC : 0x02_00_00_00_00_01L | (long) i << 8;
            h.ethernet("em" + i, "10." + i + ".0.1/24", ourMac, ourMac + 1);
        }
        harness = h.build(); // drains the gratuitous ARP from bringing the interfaces up
        kernel = harness.kernel();
        buffers = kernel.buffers();
        ctx = kernel.contexts().open(false); // the test stands in for a driver's reader; its other calls lease contexts as an application's do
        for (KernelHarness.Link l : harness.links()) peers.add(new Peer(this, l.wire(), l.ifp(), l.peerMac(), l.peerIp()));
        markStats();
    }

    public Peer peer(int i) { return peers.get(i); }
    public Peer peer0() { return peers.get(0); }
    public Peer peer1() { return peers.get(1); }
    public Interface em0() { return peers.get(0).ifp(); }
    public Interface em1() { return peers.get(1).ifp(); }

    public long stat(Stat s) { return kernel.stats().get(s); }

    /** Starts counting {@link #statsChanged} from here. */
    public void markStats() { mark = kernel.stats().snapshot(); }

    /** Every counter that changed since the last {@link #markStats} (set-up marks once), with its increase. */
    public Map<Stat, Long> statsChanged() {
        Map<Stat, Long> now = kernel.stats().snapshot();
        Map<Stat, Long> d = new EnumMap<>(Stat.class);
        for (Stat s : Stat.all()) {
            long v = now.get(s) - mark.get(s);
            if (v != 0) d.put(s, v);
        }
        return d;
    }

    /** Moves the clock and runs every timeout that falls due (ARP, reassembly), as the timer thread would. */
    public void tick(long advance, TimeUnit unit) {
        kernel.advanceTime(unit.toNanos(advance));
    }

    public int buffersInUse() { return buffers.small().inUse() + buffers.large().inUse(); }

    /** No buffer is held by anybody: every packet was consumed and freed exactly once. */
    public void assertNoBuffersHeld() {
        assertThat(buffers.small().inUse()).as("small buffers in use").isZero();
        assertThat(buffers.large().inUse()).as("large buffers in use").isZero();
    }

    /** Runs what waits on the wires through the stack on the test's context, until nothing is left. */
    public void runPending() { harness.runPending(ctx); }

    /** Builds a frame in a buffer of this kernel's pools, as a driver would. */
    public Packet mbuf(byte[] frame) {
        Packet m = buffers.alloc(frame.length);
        assertThat(m).as("a free buffer for a " + frame.length + "-byte frame").isNotNull();
        m.setLength(frame.length);
        m.copyFrom(0, frame, 0, frame.length);
        return m;
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        for (UdpSocket so : kernel.udp().sockets()) so.close();
        // Let every timeout run out (ARP retries need several ticks) so that what waits is released.
        for (int i = 0; i < 5; i++) tick(1, TimeUnit.HOURS);
        for (Peer p : peers) p.drain();
        List<Interface> ifs = kernel.interfaces();
        ctx.close();
        harness.close();
        for (Interface ifp : ifs) {
            assertThat(ifp.counters().get(IfCounters.IERRORS)).as(ifp + ": exceptions in the input path").isZero();
        }
        assertNoBuffersHeld();
        buffers.close();
    }
}
