package org.kextnet.kernel.embed;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.FaultPolicy;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.Clock;
import org.kextnet.kernel.wire.Ethernet;

/**
 * A whole kernel in a test, with no TUN and no root (the analogue of Netty's {@code EmbeddedChannel}): each
 * link is a memory wire in poll mode whose far end the test holds. Frames the test injects wait until
 * {@link #runPending()} runs them through the stack on the test's thread; frames the kernel sends wait at the
 * far end until {@link #readOutbound} takes them. Nothing happens behind the test's back on these links,
 * so a test is deterministic. (The kernel's loopback interface still has its own thread, and so has the timer
 * unless the kernel runs on a {@link org.kextnet.kernel.sync.ManualClock}.)
 *
 * <p>This is the one embedded harness. It shows the kernel's own types (the {@link Kernel}, each link's
 * {@link Interface} and {@link MemoryWire}) for the kernel's tests, the loader's and the benchmarks; the
 * testkit's {@code EmbeddedKernel} wraps it for extension authors behind KPI types only, and the kernel's
 * packet-level tests build their {@code TestNet} on it.
 *
 * <p>Use a harness from one test thread (unless it is {@link Builder#threaded threaded}).
 */
public final class KernelHarness implements AutoCloseable {
    /** MAC addresses by default: the kernel's interface n gets {@code KERNEL_MAC + n}, its peer {@code PEER_MAC + n}. */
    public static final long KERNEL_MAC = 0x0200_0000_0100L, PEER_MAC = 0x0200_0000_0200L;

    /** One link: the kernel's interface, its wire, and the peer's addresses at the far end. */
    public record Link(String name, Interface ifp, MemoryWire wire, boolean ethernet, long kernelMac, long peerMac,
                       int kernelIp, int peerIp) {}

    private final Kernel kernel;
    private final Map<String, Link> links;
    private final MemoryWire.End[] kernelEnds;
    private final List<ExtensionHandle> handles = new ArrayList<>();
    private final boolean threaded;
    private int baselineInUse;

    private KernelHarness(Kernel kernel, Map<String, Link> links, boolean threaded) {
        this.kernel = kernel;
        this.links = links;
        this.threaded = threaded;
        this.kernelEnds = links.values().stream().map(l -> l.wire().a()).toArray(MemoryWire.End[]::new);
    }

    /** A kernel with one Ethernet link {@code wire0} at 10.0.0.1/24 and the peer 10.0.0.2. */
    public static KernelHarness create() {
        return builder().ethernet("wire0", "10.0.0.1/24").build();
    }

    public static Builder builder() { return new Builder(); }

    /** Builds a {@link KernelHarness}. */
    public static final class Builder {
        private record Spec(String name, String address, boolean ethernet, long kernelMac, long peerMac) {}

        private final List<Spec> specs = new ArrayList<>();
        private String name = "embedded";
        private boolean forwarding;
        private FaultPolicy policy;
        private int smallBuffers = 4096, largeBuffers = 32;
        private boolean threaded;
        private int ringSize = 8192;
        private int mtu = 1500;
        private boolean staticArp = true;
        private Clock clock;

        private Builder() {}

        /** Names the kernel (its threads carry the name). */
        public Builder name(String n) { name = n; return this; }

        /**
         * Adds an Ethernet link; {@code address} is the kernel's, as "10.0.0.1/24". The peer is the next address
         * (the one before if that is the broadcast). MACs are {@link #KERNEL_MAC} and {@link #PEER_MAC} plus the
         * link's number, from 1.
         */
        public Builder ethernet(String ifName, String address) {
            int n = specs.size() + 1;
            return ethernet(ifName, address, KERNEL_MAC + n, PEER_MAC + n);
        }

        /** Adds an Ethernet link with the kernel's and the peer's MAC addresses given. */
        public Builder ethernet(String ifName, String address, long kernelMac, long peerMac) {
            specs.add(new Spec(ifName, address, true, kernelMac, peerMac));
            return this;
        }

        /** Adds a point-to-point raw IP link (as TUN). */
        public Builder tun(String ifName, String address) { specs.add(new Spec(ifName, address, false, 0, 0)); return this; }

        /** Turns IP forwarding on. */
        public Builder forwarding(boolean on) { forwarding = on; return this; }

        /** Sets the fault policy (fault limit, fail-safe verdicts). */
        public Builder faultPolicy(FaultPolicy p) { policy = p; return this; }

        /**
         * Gives each link a reader thread, as real drivers have, instead of poll mode: frames injected are
         * processed at once on that thread and {@link #runPending()} has nothing to do. For concurrency tests.
         */
        public Builder threaded(boolean on) { threaded = on; return this; }

        /**
         * Sizes each wire's rings (both directions; 8192 by default). A paced source that drains the far end
         * between bursts wants room for what the kernel forwards while that thread waits for a core.
         */
        public Builder ringSize(int frames) { ringSize = frames; return this; }

        /** Sizes the buffer pools (small 2 KiB buffers, large 64 KiB ones). */
        public Builder buffers(int small, int large) { smallBuffers = small; largeBuffers = large; return this; }

        /** The MTU of every link (1500 by default). */
        public Builder mtu(int bytes) { mtu = bytes; return this; }

        /** Whether each Ethernet peer starts in the ARP cache as a static entry (yes by default). */
        public Builder staticArp(boolean on) { staticArp = on; return this; }

        /**
         * The kernel's clock (the system's by default). With a {@link org.kextnet.kernel.sync.ManualClock} no
         * timer thread runs and {@link KernelHarness#advanceTime} moves time.
         */
        public Builder clock(Clock c) { clock = c; return this; }

        public KernelHarness build() {
            Kernel k = new Kernel(name, new Buffers(smallBuffers, largeBuffers), clock);
            if (policy != null) k.nke().setPolicy(policy);
            k.setForwarding(forwarding);
            Map<String, Link> links = new LinkedHashMap<>();
            for (Spec s : specs) {
                MemoryWire wire = new MemoryWire(s.name, MemoryWire.Options.perfect().withPollMode(!threaded).withRingSize(ringSize));
                Interface ifp = k.createInterface(s.name, s.ethernet ? IfFamily.ETHERNET : IfFamily.TUN, wire.a(), s.kernelMac, mtu);
                InterfaceAddress a = InterfaceAddress.parse(s.address);
                k.addAddress(ifp, a);
                int peer = a.network() + ((a.address() & ~a.mask()) == 1 ? 2 : 1);
                if (s.ethernet && staticArp) k.arp(ifp).addStatic(peer, s.peerMac);
                ifp.up();
                links.put(s.name, new Link(s.name, ifp, wire, s.ethernet, s.kernelMac, s.peerMac, a.address(), peer));
            }
            KernelHarness h = new KernelHarness(k, links, threaded);
            h.drainAll(); // gratuitous ARP and the like from bringing the links up
            h.baselineInUse = h.buffersInUse();
            return h;
        }
    }

    public Kernel kernel() { return kernel; }

    /** The first link. */
    public Link link() { return links.values().iterator().next(); }

    public Link link(String name) {
        Link l = links.get(name);
        if (l == null) throw new IllegalArgumentException("no link " + name);
        return l;
    }

    /** Every link, in the order they were added. */
    public List<Link> links() { return List.copyOf(links.values()); }

    /** The kernel's interface on the first link. */
    public Interface ifp() { return link().ifp(); }

    /** The kernel's address on the first link. */
    public int ip() { return link().kernelIp(); }

    /** The peer's address on the first link. */
    public int peerIp() { return link().peerIp(); }

    /**
     * A KPI handle for a test extension named {@code name}; its registrations are removed when the harness
     * closes.
     */
    public ExtensionHandle kpi(String name) {
        ExtensionHandle h = kernel.nke().open(name);
        handles.add(h);
        return h;
    }

    /** The handle of a test extension opened with {@link #kpi}, or null. */
    public ExtensionHandle extension(String name) { return kernel.nke().find(name); }

    // ---- in ----

    /** Puts a frame on the first link towards the kernel; it is processed at the next {@link #runPending()}. */
    public void injectInbound(byte[] frame) { injectInbound(link().name(), frame); }

    /** Puts a frame (from its link header) on {@code linkName} towards the kernel. */
    public void injectInbound(String linkName, byte[] frame) {
        Packet m = kernel.buffers().alloc(frame.length);
        if (m == null) throw new IllegalStateException("no free buffers (leak?)");
        m.setLength(frame.length);
        m.copyFrom(0, frame, 0, frame.length);
        if (!link(linkName).wire().a().inject(m)) throw new IllegalStateException("wire ring full; call runPending()");
    }

    /** Puts an IP packet on the first link from the peer (in an Ethernet frame on Ethernet links). */
    public void injectIp(byte[] packet) { injectIp(link().name(), packet); }

    public void injectIp(String linkName, byte[] packet) { injectInbound(linkName, ipFrame(linkName, packet)); }

    /** An IPv4 packet as the peer of {@code linkName} sends it: in an Ethernet frame to the kernel on Ethernet links. */
    public byte[] ipFrame(String linkName, byte[] packet) {
        Link l = link(linkName);
        if (!l.ethernet()) return packet.clone();
        byte[] frame = new byte[Ethernet.HEADER_LEN + packet.length];
        Ethernet.write(MemorySegment.ofArray(frame), 0, l.kernelMac(), l.peerMac(), Ethernet.TYPE_IPV4);
        System.arraycopy(packet, 0, frame, Ethernet.HEADER_LEN, packet.length);
        return frame;
    }

    /**
     * Runs every frame waiting on the links through the stack, on this thread, until none is left (frames the
     * kernel sends to itself included), with a context leased for the call.
     * @return how many frames were processed
     */
    public int runPending() {
        if (threaded) return 0;
        // The calling thread's own context: tests may run pending frames from more than one thread.
        PacketContext ctx = kernel.contexts().acquire();
        try {
            return runPending(ctx);
        } finally {
            kernel.contexts().release(ctx);
        }
    }

    /** As {@link #runPending()}, on a context the caller holds (a test standing in for a driver's reader). */
    public int runPending(PacketContext ctx) {
        if (threaded) return 0;
        int total = 0;
        int n;
        do {
            n = 0;
            for (MemoryWire.End end : kernelEnds) n += end.poll(ctx); // an array: no iterator per call
            total += n;
        } while (n > 0);
        return total;
    }

    /**
     * Moves the kernel's manual clock forward and runs every timeout that falls due, on this thread.
     * @throws IllegalStateException if the kernel runs on the system clock
     */
    public void advanceTime(long amount, TimeUnit unit) { kernel.advanceTime(unit.toNanos(amount)); }

    // ---- out ----

    /** The next frame the kernel sent on the first link, or null. */
    public byte[] readOutbound() { return readOutbound(link().name()); }

    /** The next frame the kernel sent on {@code linkName} (from its link header), or null. */
    public byte[] readOutbound(String linkName) {
        Packet m = link(linkName).wire().b().take();
        if (m == null) return null;
        try {
            return m.toByteArray();
        } finally {
            m.free();
        }
    }

    /** The next IPv4 packet the kernel sent on the first link (other frames are skipped), or null. */
    public byte[] readOutboundIp() { return readOutboundIp(link().name()); }

    public byte[] readOutboundIp(String linkName) {
        Link l = link(linkName);
        byte[] f;
        while ((f = readOutbound(linkName)) != null) {
            if (!l.ethernet()) return f;
            if (f.length >= Ethernet.HEADER_LEN && Ethernet.type(MemorySegment.ofArray(f), 0) == Ethernet.TYPE_IPV4) {
                return Arrays.copyOfRange(f, Ethernet.HEADER_LEN, f.length);
            }
        }
        return null;
    }

    /** Frees every frame waiting at the far end of {@code linkName} without copying it; returns how many. */
    public int discardOutbound(String linkName) {
        MemoryWire.End far = link(linkName).wire().b();
        int n = 0;
        Packet m;
        while ((m = far.take()) != null) {
            m.free();
            n++;
        }
        return n;
    }

    /** Every frame waiting at the far end of {@code linkName}, in order. */
    public List<byte[]> drainOutbound(String linkName) {
        List<byte[]> l = new ArrayList<>();
        byte[] f;
        while ((f = readOutbound(linkName)) != null) l.add(f);
        return l;
    }

    /** Frames waiting at the far end of {@code linkName}. */
    public int outboundCount(String linkName) { return link(linkName).wire().b().queued(); }

    private void drainAll() {
        runPending();
        for (Link l : links.values()) discardOutbound(l.name());
    }

    // ---- checks ----

    /** A kernel counter. */
    public long stat(Stat s) { return kernel.stats().get(s); }

    /** Packet buffers in use now. */
    public int buffersInUse() { return kernel.buffers().small().inUse() + kernel.buffers().large().inUse(); }

    /** Buffers in use beyond those in use after start: a leak check once the test drained everything. */
    public int leakedBuffers() { return buffersInUse() - baselineInUse; }

    /** Waits until every removal requested so far has run its final callback (one grace period and the reclaims). */
    public void awaitDetached() {
        try {
            if (!kernel.grace().awaitReclaimed(10, TimeUnit.SECONDS)) throw new IllegalStateException("reclaims did not finish in 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Removes every test extension's registrations, waits for their final callbacks, and stops the kernel. */
    @Override public void close() {
        try {
            for (ExtensionHandle h : handles) {
                h.removeAll();
                h.awaitRemoved(10, TimeUnit.SECONDS);
                h.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            kernel.close();
        }
    }
}
