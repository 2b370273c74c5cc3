package org.kextnet.testkit;

import java.io.IOException;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.net.Ifnet;

/**
 * A whole kernel in a unit test of an extension, with no TUN and no root (the analogue of Netty's
 * {@code EmbeddedChannel}): each link is a memory wire whose far end the test holds. Frames the test injects wait
 * until {@link #runPending()} runs them through the stack on the test's thread; frames the kernel sends wait at
 * the far end until {@link #readOutbound} takes them. Nothing happens behind the test's back on these links, so a
 * test is deterministic. The extension under test gets its {@link Kpi} from {@link #kpi}, exactly as the loader
 * would give it one; everything this class shows is a KPI type, a JDK type or one of the test kit's own.
 *
 * <pre>{@code
 * try (EmbeddedKernel k = EmbeddedKernel.create()) {          // wire0 10.0.0.1/24, peer 10.0.0.2
 *     Kpi kpi = k.kpi("com.example.test");
 *     kpi.ipFilters().addV4("drop-udp", Position.DEFAULT, new IpFilter() {
 *         public int input(Mbuf m, int offset, int protocol) { return protocol == 17 ? Errno.EPERM : 0; }
 *     });
 *     k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 1234, 7, "hi".getBytes()));
 *     k.runPending();
 *     assertThat(k.readOutboundIp()).isNull();                // the echo never happened
 *     assertThat(k.stat(Counter.IP_FILTERED)).isEqualTo(1);
 * }
 * }</pre>
 *
 * <p>Packets are byte arrays from their link header ({@link #injectInbound}, {@link #readOutbound}) or from their
 * IP header ({@link #injectIp}, {@link #readOutboundIp}); {@link Frames} builds and reads them. Addresses are IPv4
 * addresses as ints and MAC addresses as the low 48 bits of a long.
 *
 * <p>Use an embedded kernel from one test thread (unless it is {@link Builder#threaded threaded}).
 */
public final class EmbeddedKernel implements AutoCloseable {
    /** MAC addresses: the kernel's interface n (from 1) gets {@code KERNEL_MAC + n}, its peer {@code PEER_MAC + n}. */
    public static final long KERNEL_MAC = KernelHarness.KERNEL_MAC, PEER_MAC = KernelHarness.PEER_MAC;

    /**
     * One link: the kernel's interface and the addresses at both ends.
     *
     * @param ifp       the kernel's interface, as extensions see it (attach interface filters to it)
     * @param ethernet  whether frames carry an Ethernet header (else raw IP, as TUN)
     * @param kernelMac the interface's MAC address (0 without a link header)
     * @param peerMac   the peer's MAC address (0 without a link header)
     * @param kernelIp  the interface's IPv4 address
     * @param peerIp    the peer's IPv4 address
     */
    public record Link(String name, Ifnet ifp, boolean ethernet, long kernelMac, long peerMac, int kernelIp, int peerIp) {}

    private static final Map<Counter, Stat> STATS = new EnumMap<>(Counter.class);

    static {
        for (Counter c : Counter.values()) STATS.put(c, Stat.valueOf(c.name()));
    }

    private final KernelHarness harness;
    private final List<Link> links;
    private final KernelCommands commands;

    private EmbeddedKernel(KernelHarness harness) {
        this.harness = harness;
        this.commands = new KernelCommands(harness.kernel());
        this.links = harness.links().stream().map(l -> new Link(l.name(), l.ifp(), l.ethernet(), l.kernelMac(), l.peerMac(),
                l.kernelIp(), l.peerIp())).toList();
    }

    /** A kernel with one Ethernet link {@code wire0} at 10.0.0.1/24 and the peer 10.0.0.2. */
    public static EmbeddedKernel create() {
        return builder().ethernet("wire0", "10.0.0.1/24").build();
    }

    public static Builder builder() { return new Builder(); }

    /** Builds an {@link EmbeddedKernel}. */
    public static final class Builder {
        private final KernelHarness.Builder harness = KernelHarness.builder();

        private Builder() {}

        /** Names the kernel (its threads carry the name). */
        public Builder name(String n) { harness.name(n); return this; }

        /**
         * Adds an Ethernet link; {@code address} is the kernel's, as "10.0.0.1/24". The peer is the next address
         * (the one before if that is the broadcast) and starts in the ARP cache.
         */
        public Builder ethernet(String ifName, String address) { harness.ethernet(ifName, address); return this; }

        /** Adds a point-to-point raw IP link (as TUN). */
        public Builder tun(String ifName, String address) { harness.tun(ifName, address); return this; }

        /** Turns IP forwarding on. */
        public Builder forwarding(boolean on) { harness.forwarding(on); return this; }

        /** Sets what a fault in extension code costs ({@link FaultPolicy#DEFAULT} otherwise). */
        public Builder faultPolicy(FaultPolicy p) {
            harness.faultPolicy(new org.kextnet.kernel.hook.FaultPolicy(p.faultLimit(), p.ipFailPass(), p.ifaceFailPass()));
            return this;
        }

        /**
         * Gives each link a reader thread, as real drivers have: frames injected are processed at once on that
         * thread and {@link #runPending()} has nothing to do. For concurrency tests.
         */
        public Builder threaded(boolean on) { harness.threaded(on); return this; }

        /** Sizes the buffer pools (small 2 KiB buffers, large 64 KiB ones; 4096 and 32 by default). */
        public Builder buffers(int small, int large) { harness.buffers(small, large); return this; }

        /**
         * Runs the kernel on a clock that moves only when the test calls {@link EmbeddedKernel#advanceTime}: no
         * timer thread, and callouts, ARP and reassembly timeouts run on the test's thread then.
         */
        public Builder manualClock() { harness.clock(new ManualClock()); return this; }

        public EmbeddedKernel build() { return new EmbeddedKernel(harness.build()); }
    }

    /** The first link. */
    public Link link() { return links.getFirst(); }

    public Link link(String name) {
        for (Link l : links) if (l.name().equals(name)) return l;
        throw new IllegalArgumentException("no link " + name);
    }

    /** Every link, in the order they were added. */
    public List<Link> links() { return links; }

    /** The kernel's interface on the first link. */
    public Ifnet ifp() { return link().ifp(); }

    /** The kernel's address on the first link. */
    public int ip() { return link().kernelIp(); }

    /** The peer's address on the first link. */
    public int peerIp() { return link().peerIp(); }

    /**
     * A KPI handle for the extension named {@code name} (give it to the extension's {@code start}); whatever it
     * registered is removed when the embedded kernel closes.
     */
    public Kpi kpi(String name) { return harness.kpi(name); }

    /** The handle of an extension opened with {@link #kpi}, or null once it was closed. */
    public Kpi extension(String name) { return harness.extension(name); }

    /**
     * Runs one admin command line in the kernel, as an operator does with {@code kextnet admin} or a configuration
     * file (docs/configuration.md): {@code ifconfig}, {@code route}, {@code arp}, {@code sysctl}, {@code service},
     * {@code netstat}. For what an operator sets up around an extension, such as an address and a route on the
     * interface it created: {@code k.command("ifconfig ktun0 inet 10.9.0.1/30")}.
     *
     * @return the command's output (empty for commands that only change state)
     * @throws IllegalArgumentException naming the problem; the kernel is unchanged
     */
    public String command(String line) { return commands.execute(line); }

    // ---- in ----

    /** Puts a frame on the first link towards the kernel; it is processed at the next {@link #runPending()}. */
    public void injectInbound(byte[] frame) { harness.injectInbound(frame); }

    /** Puts a frame (from its link header) on {@code linkName} towards the kernel. */
    public void injectInbound(String linkName, byte[] frame) { harness.injectInbound(linkName, frame); }

    /** Puts an IP packet on the first link from the peer (in an Ethernet frame on Ethernet links). */
    public void injectIp(byte[] packet) { harness.injectIp(packet); }

    public void injectIp(String linkName, byte[] packet) { harness.injectIp(linkName, packet); }

    /**
     * Runs every frame waiting on the links through the stack, on this thread, until none is left (frames the
     * kernel sends to itself included).
     * @return how many frames were processed
     */
    public int runPending() { return harness.runPending(); }

    /**
     * Moves the clock of a kernel built with {@link Builder#manualClock()} and runs every timeout that falls due
     * (callouts included), on this thread.
     * @throws IllegalStateException on a kernel that runs on the system clock
     */
    public void advanceTime(long amount, TimeUnit unit) { harness.advanceTime(amount, unit); }

    // ---- out ----

    /** The next frame the kernel sent on the first link (from its link header), or null. */
    public byte[] readOutbound() { return harness.readOutbound(); }

    public byte[] readOutbound(String linkName) { return harness.readOutbound(linkName); }

    /** The next IPv4 packet the kernel sent on the first link (other frames are skipped), or null. */
    public byte[] readOutboundIp() { return harness.readOutboundIp(); }

    public byte[] readOutboundIp(String linkName) { return harness.readOutboundIp(linkName); }

    /** Frees every frame waiting at the far end of {@code linkName}; returns how many. */
    public int discardOutbound(String linkName) { return harness.discardOutbound(linkName); }

    /** Every frame waiting at the far end of {@code linkName}, in order. */
    public List<byte[]> drainOutbound(String linkName) { return harness.drainOutbound(linkName); }

    /** Frames waiting at the far end of {@code linkName}. */
    public int outboundCount(String linkName) { return harness.outboundCount(linkName); }

    // ---- applications ----

    /**
     * A UDP socket bound to {@code port} on every address (0: unbound until its first send), as an application
     * opens one: its calls and data go through the socket filters.
     */
    public TestSocket openUdp(int port) throws IOException {
        UdpSocket so = harness.kernel().udp().open();
        try {
            if (port != 0) so.bind(0, port);
        } catch (IOException e) {
            so.close();
            throw e;
        }
        return new TestSocket(so);
    }

    /** A socket of a protocol an extension added with {@code kpi.domains().addProtocol}. */
    public TestSocket openSocket(int domain, int type, int protocol) throws IOException {
        return new TestSocket(harness.kernel().domains().open(domain, type, protocol));
    }

    /**
     * Connects a client to the kernel control named {@code name}, as an application's {@code connect} on a
     * {@code PF_SYSTEM} socket does.
     * @param unit       0 for the first free unit
     * @param privileged whether the client has privileges (a control registered with {@code FLAG_PRIVILEGED} wants them)
     * @throws KpiException ENOENT (no such control), EBUSY, EPERM, or the control's connect error
     */
    public ControlClient connectControl(String name, int unit, boolean privileged) throws KpiException {
        return harness.kernel().controls().connect(name, unit, privileged);
    }

    // ---- checks ----

    /** A kernel counter. */
    public long stat(Counter c) { return harness.stat(STATS.get(c)); }

    /** Every non-zero kernel counter, grouped by protocol as {@code netstat -s} prints them: for failure messages. */
    public String statistics() { return harness.kernel().stats().format(false); }

    /** Packet buffers in use now. */
    public int buffersInUse() { return harness.buffersInUse(); }

    /**
     * Buffers in use beyond those in use after start: put it at the end of a test, once everything was read or
     * discarded, to catch a packet the extension forgot to free.
     */
    public int leakedBuffers() { return harness.leakedBuffers(); }

    /** Waits until every removal requested so far has run its final callback ({@code detached} and the like). */
    public void awaitDetached() { harness.awaitDetached(); }

    /** Removes every test extension's registrations, waits for their final callbacks, and stops the kernel. */
    @Override public void close() {
        commands.closeServices();
        harness.close();
    }
}
