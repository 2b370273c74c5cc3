package org.kextnet.kernel;

import java.util.List;
import java.util.concurrent.locks.LockSupport;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.control.ControlRegistry;
import org.kextnet.kernel.domain.Domains;
import org.kextnet.kernel.event.EventBus;
import org.kextnet.kernel.hook.CallLimits;
import org.kextnet.kernel.hook.Heads;
import org.kextnet.kernel.hook.Watchdog;
import org.kextnet.kernel.inet.IcmpLayer;
import org.kextnet.kernel.inet.InetConfig;
import org.kextnet.kernel.inet.IpInput;
import org.kextnet.kernel.inet.IpOutput;
import org.kextnet.kernel.inet.Ipv4Layer;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.inet.RouteTable;
import org.kextnet.kernel.inet.tcp.TcpConfig;
import org.kextnet.kernel.inet.tcp.TcpLayer;
import org.kextnet.kernel.inet.udp.UdpLayer;
import org.kextnet.kernel.link.LinkLayers;
import org.kextnet.kernel.link.loopback.LoopbackDriver;
import org.kextnet.kernel.neighbor.ArpCache;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.Interfaces;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.nke.ExtensionInterfaces;
import org.kextnet.kernel.nke.Nke;
import org.kextnet.kernel.nke.Subsystems;
import org.kextnet.kernel.protocol.Protocols;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kernel.stat.Stats;
import org.kextnet.kernel.sync.Clock;
import org.kextnet.kernel.sync.GracePeriod;
import org.kextnet.kernel.sync.KernelThreads;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.sync.ThreadAbandoned;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.protocol.ProtocolKpi;

/**
 * One network kernel, and the composition root of its parts: it builds each layer, bottom up, handing each its
 * collaborators through its constructor, so that nothing below reaches back up through this object. Then, once
 * every part exists, it plumbs the kernel's own IPv4 through the protocol KPI (as an extension would), brings
 * up {@code lo0} (127.0.0.1/8) and starts the timer thread that drives the timer wheel (ARP, reassembly,
 * extension callouts; TCP's timers next) and the watchdog over calls into extensions. Several kernels may live
 * in one JVM (tests join two with a memory wire).
 *
 * <p>Its threads follow {@link KernelThreads}' rule: a thread an extension holds past its hard limit is replaced,
 * and an error escaping kernel code on any of them ends the process with status 70 unless the owner says
 * otherwise ({@link #onFatalError}).
 *
 * <p>The methods here are for the kernel's owner (the command line, the loader, tests): they delegate to the
 * part that does the work.
 */
public final class Kernel implements AutoCloseable {
    private final String name;
    private final Buffers buffers;
    private final Clock clock;
    private final boolean manualTime;
    private final TimerWheel wheel;
    private final Stats stats = new Stats();
    private final KernelThreads threads;
    private final GracePeriod grace;
    private final Watchdog watchdog;
    private final Contexts contexts;
    private final Heads heads;
    private final EventBus events;
    private final Interfaces interfaces;
    private final Protocols protocols;
    private final Ipv4Layer ipv4;
    private final SocketFilters socketFilters;
    private final UdpLayer udp;
    private final TcpLayer tcp;
    private final ControlRegistry controls;
    private final Domains domains;
    private final ExtensionInterfaces extensionInterfaces;
    private final Nke nke;
    private final Interface loopback;
    private final KernelThreads.Worker timer;
    private volatile boolean asleep;
    private volatile boolean closed;

    /** A kernel with the standard buffer pools, on the system clock. */
    public Kernel(String name) {
        this(name, Buffers.standard());
    }

    public Kernel(String name, Buffers buffers) {
        this(name, buffers, null);
    }

    /**
     * A kernel that reads the time from {@code clock}. With a {@link ManualClock} no timer thread runs: the
     * owner moves time with {@link #advanceTime}, and every timeout due runs then, on the calling thread (tests
     * and packetdrill's shim run on virtual time so). With null, the kernel uses the system clock and its own
     * timer thread.
     */
    public Kernel(String name, Buffers buffers, Clock clock) {
        this.name = name;
        this.buffers = buffers;
        this.clock = clock != null ? clock : Clock.SYSTEM;
        this.manualTime = clock instanceof ManualClock;
        this.wheel = new TimerWheel(this.clock);
        this.threads = new KernelThreads(name);
        this.grace = new GracePeriod(threads);
        this.watchdog = new Watchdog(this.clock, threads);
        this.contexts = new Contexts(stats, grace, buffers, watchdog);
        this.heads = new Heads(grace, contexts, watchdog);
        this.events = new EventBus(grace, contexts);
        this.interfaces = new Interfaces(threads, contexts, events, heads);
        this.protocols = new Protocols(interfaces);
        this.ipv4 = new Ipv4Layer(interfaces, heads, buffers, wheel);
        this.socketFilters = new SocketFilters(contexts, heads);
        this.udp = new UdpLayer(ipv4, socketFilters, buffers);
        ipv4.protocols().register(Ipv4.PROTO_UDP, udp);
        this.tcp = new TcpLayer(ipv4, socketFilters, buffers, wheel, contexts, new TcpConfig());
        ipv4.protocols().register(Ipv4.PROTO_TCP, tcp);
        this.controls = new ControlRegistry(events, heads, buffers);
        this.domains = new Domains(ipv4.protocols(), socketFilters);
        this.extensionInterfaces = new ExtensionInterfaces(interfaces);
        this.nke = new Nke(new Subsystems(buffers, contexts, heads, wheel, interfaces, events, ipv4, socketFilters,
                protocols, domains, controls, extensionInterfaces));
        // Every part exists: now the kernel's own IPv4 plumbs itself through the KPI, and lo0 comes up.
        plumbIpv4(nke.kernelHandle().protocols());
        this.loopback = createInterface("lo0", IfFamily.LOOPBACK, new LoopbackDriver(), 0, 16384);
        ipv4.config().setLoopback(loopback);
        addAddress(loopback, new InterfaceAddress(Ipv4.parse("127.0.0.1"), 8));
        loopback.up();
        watchdog.start();
        this.timer = manualTime ? null : threads.worker("kextnet-" + name + "-timer", this::runTimers);
        if (timer != null) {
            wheel.onSchedule(() -> {
                Thread t = timer.thread();
                if (t != null) LockSupport.unpark(t);
            });
            timer.start();
        }
    }

    private void plumbIpv4(ProtocolKpi kpi) {
        try {
            for (IfnetFamily f : new IfnetFamily[] {IfnetFamily.ETHERNET, IfnetFamily.TUN, IfnetFamily.LOOPBACK}) {
                kpi.registerPlumber(ProtocolFamily.PF_INET, f, ipv4.plumber(kpi));
            }
            kpi.registerInput(ProtocolFamily.PF_INET, (pf, m) -> ipv4.protoInput((org.kextnet.kernel.buf.Packet) m));
        } catch (KpiException e) {
            throw new IllegalStateException("kernel protocols", e);
        }
    }

    /**
     * The timer thread: expires what is due on the wheel, then parks until the next deadline (or until a new
     * timeout is scheduled). Its packet context is its own for its whole life.
     */
    private void runTimers() {
        PacketContext ctx = contexts.open();
        try {
            while (!closed && timer.isCurrent()) {
                try {
                    wheel.advance();
                } catch (RuntimeException e) {
                    // A bug in one timeout; the next ones run. An Error goes on to the fatal-error rule.
                    System.getLogger("kextnet.kernel").log(System.Logger.Level.ERROR, "timer failed", e);
                }
                // Parks until the earliest deadline (at most a second): only a timeout due sooner wakes it earlier.
                long now = clock.nanoTime();
                long next = wheel.sleepUntil(now + 1_000_000_000L);
                LockSupport.parkNanos(this, Math.max(next - now, wheel.tickNanos()));
            }
        } catch (ThreadAbandoned gone) {
            // The watchdog gave up on this thread inside a callout; the replacement drives the wheel.
        } finally {
            ctx.close();
        }
    }

    /**
     * Moves a manual clock forward by {@code nanos} and runs every timeout that falls due, on this thread (in steps,
     * so each runs at the time it was due).
     * @throws IllegalStateException if the kernel runs on a real clock
     */
    public void advanceTime(long nanos) {
        if (!(clock instanceof ManualClock m)) throw new IllegalStateException("kernel " + name + " runs on a real clock");
        long end = m.nanoTime() + nanos;
        while (true) {
            long next = wheel.nextExpiry(); // a tick boundary: advancing to it runs the earliest timeout
            if (next == Long.MAX_VALUE || next - end > 0) break;
            if (next - m.nanoTime() > 0) m.set(next);
            wheel.advance(m.nanoTime());
        }
        m.set(end);
        wheel.advance(end);
    }

    public String name() { return name; }
    public Buffers buffers() { return buffers; }
    public Stats stats() { return stats; }
    public long nanoTime() { return clock.nanoTime(); }
    public Clock clock() { return clock; }
    /** The kernel's timer wheel. */
    public TimerWheel timers() { return wheel; }
    /** The packet contexts: {@link Contexts#acquire} one to run packet code from an owner's thread. */
    public Contexts contexts() { return contexts; }
    /** The kernel's grace periods: read-side sections on the packet path, deferred reclaim of removed filters. */
    public GracePeriod grace() { return grace; }
    /** The kernel's threads (readers, timer, reclaim, watchdog) and their fatal-error rule. */
    public KernelThreads threads() { return threads; }
    /** The watchdog over calls into extensions. */
    public Watchdog watchdog() { return watchdog; }
    /** The timer thread now (null on a manual clock). */
    public Thread timerThread() { return timer == null ? null : timer.thread(); }

    /**
     * Sets what happens to an error that escapes one of the kernel's threads (see {@link KernelThreads}): by
     * default the process's default uncaught-exception handler if it has one (kern_loader's exits 70), else a
     * message on stderr and a halt with status 70. The daemon, an embedding application or a test may plug in
     * its own; it must end the process or keep the work going.
     */
    public void onFatalError(Thread.UncaughtExceptionHandler handler) { threads.onFatalError(handler); }

    /** How long a call into each kind of head may take ({@link CallLimits}). */
    public CallLimits callLimits() { return heads.limits(); }

    public void setCallLimits(CallLimits limits) { heads.setLimits(limits); }
    public EventBus events() { return events; }
    /** The interface table. */
    public Interfaces interfaceTable() { return interfaces; }
    public Ipv4Layer ipv4() { return ipv4; }
    public InetConfig inet() { return ipv4.config(); }
    public RouteTable routes() { return ipv4.config().routes(); }
    public IpInput ipInput() { return ipv4.input(); }
    public IpOutput ipOutput() { return ipv4.output(); }
    public IcmpLayer icmp() { return ipv4.icmp(); }
    public UdpLayer udp() { return udp; }
    public TcpLayer tcp() { return tcp; }
    public Interface loopback() { return loopback; }
    /** The socket filters registered for the kernel's sockets. */
    public SocketFilters socketFilters() { return socketFilters; }
    public ControlRegistry controls() { return controls; }
    /** Interfaces created by extensions. */
    public ExtensionInterfaces extensionInterfaces() { return extensionInterfaces; }
    /** Protocol plumbers, attachments and protocol inputs. */
    public Protocols protocols() { return protocols; }
    /** Protocols added to domains by extensions. */
    public Domains domains() { return domains; }
    /** The extension registry: KPI handles, fault policy, tag ids. */
    public Nke nke() { return nke; }

    /** A pinger for {@code ping}: echo requests out, replies counted. */
    public Pinger pinger() { return new Pinger(ipv4.icmp(), contexts); }

    /** The ARP cache of an Ethernet interface with IPv4 plumbed, else null. */
    public ArpCache arp(Interface ifp) { return ipv4.arp(ifp); }

    public boolean forwarding() { return ipv4.config().forwarding(); }
    public void setForwarding(boolean on) { ipv4.config().setForwarding(on); }

    /**
     * Creates an interface over {@code driver} with the kernel's link layer for its family and attaches it. The
     * interface starts down and without addresses.
     * @throws IllegalArgumentException if the name is taken
     */
    public Interface createInterface(String ifName, IfFamily family, Driver driver, long lladdr, int mtu) {
        if (closed) throw new IllegalStateException("kernel " + name + " is closed");
        return interfaces.attach(interfaces.create(ifName, family, driver, lladdr, mtu, LinkLayers.of(family)));
    }

    /**
     * Stops and removes an interface with its addresses and routes (see {@link Interfaces#detach}).
     */
    public void destroyInterface(String ifName) {
        Interface ifp = interfaces.find(ifName);
        if (ifp == null) throw new IllegalArgumentException("no interface " + ifName);
        if (ifp == loopback) throw new IllegalArgumentException("lo0 cannot be destroyed");
        interfaces.detach(ifp, () -> {});
    }

    public Interface findInterface(String ifName) { return interfaces.find(ifName); }

    /** Interfaces in index order. */
    public List<Interface> interfaces() { return interfaces.list(); }

    /** Assigns an address and adds its connected route. */
    public void addAddress(Interface ifp, InterfaceAddress a) { ipv4.addAddress(ifp, a); }

    public boolean removeAddress(Interface ifp, int address) { return ipv4.config().removeAddress(ifp, address); }

    /** Whether {@code a} is assigned to any interface of this kernel. */
    public boolean isLocalAddress(int a) { return ipv4.config().isLocalAddress(a); }

    /**
     * Puts the kernel to sleep (an admin request): posts {@code KEV_POWER_SLEEP} to every interface's filters
     * and to the event bus. Traffic keeps flowing; extensions decide what sleep means to them.
     */
    public void sleep() { power(true); }

    /** Wakes the kernel: posts {@code KEV_POWER_WAKE} like {@link #sleep}. */
    public void wake() { power(false); }

    private synchronized void power(boolean sleep) {
        if (asleep == sleep) return;
        asleep = sleep;
        KernelEvent e = KernelEvent.of(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_SYSTEM_CLASS,
                KernelEvents.KEV_POWER_SUBCLASS, sleep ? KernelEvents.KEV_POWER_SLEEP : KernelEvents.KEV_POWER_WAKE, null);
        PacketContext ctx = contexts.acquire();
        try {
            for (Interface ifp : interfaces()) ifp.filters().event(ctx, e);
        } finally {
            contexts.release(ctx);
        }
        events.post(e);
    }

    /** Whether the kernel was put to sleep. */
    public boolean isAsleep() { return asleep; }

    /** Stops every driver and the timer. Buffers still held elsewhere stay valid until the JVM exits. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        if (timer != null) {
            Thread t = timer.thread();
            if (t != null) LockSupport.unpark(t);
            try {
                timer.stopAndJoin(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        interfaces.close();
        tcp.stack().close();
        grace.close(); // after the readers stopped: pending detached callbacks run now
        watchdog.close();
    }
}
