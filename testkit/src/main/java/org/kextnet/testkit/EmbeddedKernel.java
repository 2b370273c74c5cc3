package org.kextnet.testkit;

import java.util.ArrayList;
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
import org.kextnet.kpi.Kpi;

/**
 * A whole kernel in a unit test, with no TUN and no root (the analogue of Netty's {@code EmbeddedChannel}):
 * each link is a memory wire in poll mode whose far end the test holds. Frames the test injects wait until
 * {@link #runPending()} runs them through the stack on the test's thread; frames the kernel sends wait at the
 * far end until {@link #readOutbound} takes them. Nothing happens behind the test's back on these links,
 * so a test is deterministic. (The kernel's loopback interface still has its own thread.)
 *
 * <pre>{@code
 * try (EmbeddedKernel k = EmbeddedKernel.create()) {          // wire0 10.0.0.1/24, peer 10.0.0.2
 *     Kpi kpi = k.kpi("com.example.test");
 *     kpi.ipFilters().addV4("drop-udp", Position.DEFAULT, new IpFilter() {
 *         public int input(Packet m, int offset, int protocol) { return protocol == 17 ? Errno.EPERM : 0; }
 *     });
 *     k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 1234, 7, "hi".getBytes()));
 *     k.runPending();
 *     assertThat(k.readOutboundIp()).isNull();                // the echo never happened
 * }
 * }</pre>
 *
 * <p>Use an embedded kernel from one test thread.
 */
public final class EmbeddedKernel implements AutoCloseable {
    /** MAC addresses: the kernel's interface n gets {@code KERNEL_MAC + n}, its peer {@code PEER_MAC + n}. */
    public static final long KERNEL_MAC = 0x0200_0000_0100L, PEER_MAC = 0x0200_0000_0200L;

    /** One link: the kernel's interface, its wire, and the peer's addresses at the far end. */
    public record Link(String name, Interface ifp, MemoryWire wire, boolean ethernet, long kernelMac, long peerMac,
                       int kernelIp, int peerIp) {}

    private final Kernel kernel;
    private final Map<String, Link> links;
    private final List<ExtensionHandle> handles = new ArrayList<>();
    private boolean threaded;
    private int baselineInUse;

    private final MemoryWire.End[] kernelEnds;

    private EmbeddedKernel(Kernel kernel, Map<String, Link> links) {
        this.kernel = kernel;
        this.links = links;
        this.kernelEnds = links.values().stream().map(l -> l.wire().a()).toArray(MemoryWire.End[]::new);
    }

    /** A kernel with one Ethernet link {@code wire0} at 10.0.0.1/24 and the peer 10.0.0.2. */
    public static EmbeddedKernel create() {
        return builder().ethernet("wire0", "10.0.0.1/24").build();
    }

    public static Builder builder() { return new Builder(); }

    /** Builds an {@link EmbeddedKernel}. */
    public static final class Builder {
        private record Spec(String name, String address, boolean ethernet) {}

        private final List<Spec> specs = new ArrayList<>();
        private String name = "embedded";
        private boolean forwarding;
        private FaultPolicy policy;
        private int smallBuffers = 4096, largeBuffers = 32;
        private boolean threaded;
        private int ringSize = 8192;

        /** Names the kernel (its threads carry the name). */
        public Builder name(String n) { name = n; return this; }

        /** Adds an Ethernet link; {@code address} is the kernel's, as "10.0.0.1/24". */
        public Builder ethernet(String ifName, String address) { specs.add(new Spec(ifName, address, true)); return this; }

        /** Adds a point-to-point raw IP link (as TUN). */
        public Builder tun(String ifName, String address) { specs.add(new Spec(ifName, address, false)); return this; }

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

        public EmbeddedKernel build() {
            Kernel k = new Kernel(name, new Buffers(smallBuffers, largeBuffers));
            if (policy != null) k.nke().setPolicy(policy);
            k.setForwarding(forwarding);
            Map<String, Link> links = new LinkedHashMap<>();
            int n = 0;
            for (Spec s : specs) {
                n++;
                MemoryWire wire = new MemoryWire(s.name, MemoryWire.Options.perfect().withPollMode(!threaded).withRingSize(ringSize));
                long mac = s.ethernet ? KERNEL_MAC + n : 0;
                Interface ifp = k.createInterface(s.name, s.ethernet ? IfFamily.ETHERNET : IfFamily.TUN, wire.a(), mac, 1500);
                InterfaceAddress a = InterfaceAddress.parse(s.address);
                k.addAddress(ifp, a);
                int peer = a.network() + ((a.address() & ~a.mask()) == 1 ? 2 : 1);
                long peerMac = s.ethernet ? PEER_MAC + n : 0;
                if (s.ethernet) k.arp(ifp).addStatic(peer, peerMac);
                ifp.up();
                links.put(s.name, new Link(s.name, ifp, wire, s.ethernet, mac, peerMac, a.address(), peer));
            }
            EmbeddedKernel e = new EmbeddedKernel(k, links);
            e.threaded = threaded;
            e.drainAll(); // gratuitous ARP and the like from bringing the links up
            e.baselineInUse = e.buffersInUse();
            return e;
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

    /** The kernel's interface on the first link. */
    public Interface ifp() { return link().ifp(); }

    /** The kernel's address on the first link. */
    public int ip() { return link().kernelIp(); }

    /** The peer's address on the first link. */
    public int peerIp() { return link().peerIp(); }

    /**
     * A KPI handle for a test extension named {@code name}; its registrations are removed when the embedded
     * kernel closes.
     */
    public ExtensionHandle kpi(String name) {
        ExtensionHandle h = kernel.nke().open(name);
        handles.add(h);
        return h;
    }

    /** The handle of a test extension opened with {@link #kpi}. */
    public Kpi extension(String name) { return kernel.nke().find(name); }

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

    public void injectIp(String linkName, byte[] packet) {
        Link l = link(linkName);
        injectInbound(linkName, l.ethernet() ? Frames.ethernet(l.kernelMac(), l.peerMac(), Frames.ETHERTYPE_IPV4, packet) : packet);
    }

    /**
     * Runs every frame waiting on the links through the stack, on this thread, until none is left (frames the
     * kernel sends to itself included).
     * @return how many frames were processed
     */
    public int runPending() {
        if (threaded) return 0;
        // The calling thread's own context: tests may run pending frames from more than one thread.
        PacketContext ctx = kernel.contexts().acquire();
        try {
            int total = 0;
            int n;
            do {
                n = 0;
                for (MemoryWire.End end : kernelEnds) n += end.poll(ctx); // an array: no iterator per call
                total += n;
            } while (n > 0);
            return total;
        } finally {
            kernel.contexts().release(ctx);
        }
    }

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
            if (Frames.etherType(f) == Frames.ETHERTYPE_IPV4) return Frames.etherPayload(f);
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
        for (Link l : links.values()) drainOutbound(l.name());
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
