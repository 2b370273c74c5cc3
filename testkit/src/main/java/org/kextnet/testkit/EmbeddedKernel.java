package org.kextnet.testkit;

import java.io.IOException;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.wire.Ipv4;
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
 * <p>TCP: {@link #peer()} puts a second embedded kernel at the far end of a link, so that a test has a TCP peer;
 * {@link #listenTcp}, {@link #connectTcp} and {@link #openTcp} give {@link TcpTestSocket}s whose waits run the
 * frames between the two kernels (and, on a manual clock, move time) on the test's thread:
 *
 * <pre>{@code
 * try (EmbeddedKernel k = EmbeddedKernel.create(); EmbeddedKernel peer = k.peer()) {
 *     new TcpLog().start(k.kpi("tcplog"));                  // a socket filter on k's TCP sockets
 *     TcpTestSocket server = k.listenTcp(80);
 *     TcpTestSocket client = peer.connectTcp(k.ip(), 80);  // the handshake runs inside the call
 *     TcpTestSocket conn = server.accept();
 *     client.write("GET /".getBytes());
 *     assertThat(conn.readFully(5)).isEqualTo("GET /".getBytes());
 * }
 * }</pre>
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
    /** This kernel and the peers joined to it: shared by all of them. */
    private final KernelGroup group;
    private final boolean threaded;
    /** The peers this kernel made, by link name. */
    private final Map<String, EmbeddedKernel> peers = new LinkedHashMap<>();
    private final KernelCommands commands;

    private EmbeddedKernel(KernelHarness harness, KernelGroup group, boolean threaded) {
        this.harness = harness;
        this.group = group;
        this.threaded = threaded;
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
        private ManualClock clock;
        private boolean threaded;

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
        public Builder threaded(boolean on) {
            harness.threaded(on);
            threaded = on;
            return this;
        }

        /** Sizes the buffer pools (small 2 KiB buffers, large 64 KiB ones; 4096 and 32 by default). */
        public Builder buffers(int small, int large) { harness.buffers(small, large); return this; }

        /**
         * Runs the kernel on a clock that moves only when the test calls {@link EmbeddedKernel#advanceTime}: no
         * timer thread, and callouts, ARP and reassembly timeouts run on the test's thread then.
         */
        public Builder manualClock() {
            clock = new ManualClock();
            harness.clock(clock);
            return this;
        }

        public EmbeddedKernel build() {
            KernelHarness h = harness.build();
            return new EmbeddedKernel(h, new KernelGroup(h, clock), threaded);
        }
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

    // ---- a peer ----

    /** The peer at the far end of the first link ({@link #peer(String)}). */
    public EmbeddedKernel peer() { return peer(link().name()); }

    /**
     * A second embedded kernel at the far end of link {@code linkName}, made on the first call: it has the peer's
     * address and MAC ({@link Link#peerIp()}, {@link Link#peerMac()}) on a link of the same name, so that the two
     * kernels talk to each other (a TCP peer for the extension under test, or a kernel to run another extension in).
     * It shares this kernel's clock; {@link #runPending()} and {@link #advanceTime} of either run both, carrying
     * frames across. From then on the frames this kernel sends on that link go to the peer ({@link #readOutbound}
     * sees none), frames already waiting there included. Closing either kernel closes both.
     *
     * @throws IllegalStateException on a {@link Builder#threaded threaded} kernel (its wires are not the test's to move)
     */
    public EmbeddedKernel peer(String linkName) {
        synchronized (peers) {
            EmbeddedKernel p = peers.get(linkName);
            if (p != null) return p;
            if (threaded) throw new IllegalStateException("a threaded kernel cannot have a peer: its wires run on their own threads");
            KernelHarness.Link l = harness.link(linkName);
            int prefix = l.ifp().addressList().getFirst().prefixLength();
            String address = Ipv4.format(l.peerIp()) + "/" + prefix;
            // The harness takes the peer of an address to be the next one (or the one before): when that is not this
            // kernel, the peer finds it with ARP instead of a static entry.
            InterfaceAddress a = InterfaceAddress.parse(address);
            boolean reciprocal = a.network() + ((a.address() & ~a.mask()) == 1 ? 2 : 1) == l.kernelIp();
            KernelHarness.Builder b = KernelHarness.builder().name(harness.kernel().name() + "-peer").mtu(l.ifp().mtu())
                    .staticArp(reciprocal).clock(group.clock());
            if (l.ethernet()) b.ethernet(linkName, address, l.peerMac(), l.kernelMac());
            else b.tun(linkName, address);
            KernelHarness ph = b.build();
            group.join(ph, l.wire(), ph.link(linkName).wire());
            p = new EmbeddedKernel(ph, group, false);
            peers.put(linkName, p);
            return p;
        }
    }

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
     * kernel sends to itself included; with a {@link #peer}, the frames the two send each other too).
     * @return how many frames were processed
     */
    public int runPending() { return group.runPending(); }

    /**
     * Moves the clock of a kernel built with {@link Builder#manualClock()} and runs every timeout that falls due
     * (callouts included), on this thread. With a {@link #peer}, both kernels move together, from one timeout to the
     * next, and the frames they send each other are run after each step.
     * @throws IllegalStateException on a kernel that runs on the system clock
     */
    public void advanceTime(long amount, TimeUnit unit) { group.advanceTime(unit.toNanos(amount)); }

    /**
     * Runs the pending frames (with a {@link #peer}, both kernels') until {@code condition} holds, for up to
     * {@code timeout}: on the system clock parking in between, on a manual clock moving time to each next timeout
     * when no frame is left (as {@link TcpTestSocket}'s waits do). For a test that waits on what an extension did.
     * @return whether the condition held in time
     */
    public boolean runUntil(BooleanSupplier condition, long timeout, TimeUnit unit) {
        return group.await(condition, unit.toNanos(timeout));
    }

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
     * A TCP socket, unbound, as an application opens one: its calls and data go through the socket filters (a global
     * filter on TCP attaches here).
     */
    public TcpTestSocket openTcp() {
        return new TcpTestSocket(harness.kernel().tcp().open(), group, this::isLocal);
    }

    /** A TCP socket listening on {@code port} of every address, with a backlog of 16. */
    public TcpTestSocket listenTcp(int port) throws IOException {
        TcpTestSocket s = openTcp();
        try {
            s.bind(port);
            s.listen(16);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * A TCP socket connected to {@code address}:{@code port}: the handshake runs inside the call (within
     * {@link TcpTestSocket#DEFAULT_WAIT_SECONDS}), usually to a listener of the {@link #peer}.
     * @throws IOException refused ("ECONNREFUSED: ..."), not answered in time ("ETIMEDOUT: ..."), or refused by a
     *         socket filter
     */
    public TcpTestSocket connectTcp(int address, int port) throws IOException {
        TcpTestSocket s = openTcp();
        try {
            s.connect(address, port);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private boolean isLocal(int address) { return harness.kernel().isLocalAddress(address) || (address >>> 24) == 127; }

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

    /**
     * Removes every test extension's registrations, waits for their final callbacks, stops the services the commands
     * started, and stops the kernel (and its peers, or the kernel whose peer this is). Idempotent.
     */
    @Override public void close() {
        commands.closeServices();
        group.close();
    }
}
