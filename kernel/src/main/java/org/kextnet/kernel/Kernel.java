package org.kextnet.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import org.kextnet.kernel.buf.BufferCache;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.control.ControlRegistry;
import org.kextnet.kernel.domain.Domains;
import org.kextnet.kernel.event.EventBus;
import org.kextnet.kernel.inet.IpFilters;
import org.kextnet.kernel.net.ExtensionInterfaces;
import org.kextnet.kernel.nke.Nke;
import org.kextnet.kernel.protocol.Protocols;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kernel.inet.IcmpLayer;
import org.kextnet.kernel.inet.IpInput;
import org.kextnet.kernel.inet.IpOutput;
import org.kextnet.kernel.inet.Reassembly;
import org.kextnet.kernel.inet.Route;
import org.kextnet.kernel.inet.RouteTable;
import org.kextnet.kernel.inet.udp.UdpLayer;
import org.kextnet.kernel.link.loopback.LoopbackDriver;
import org.kextnet.kernel.net.Driver;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.nke.GracePeriod;
import org.kextnet.kernel.stat.Stats;
import org.kextnet.kernel.wire.Ipv4;

/**
 * One network kernel: its buffers, interfaces, routes, protocols and counters. Several may live in one
 * JVM (tests join two with a memory wire). A kernel starts with {@code lo0} (127.0.0.1/8) and runs one
 * timer thread for the slow timeouts (ARP, reassembly), like BSD's {@code pfslowtimo}.
 */
public final class Kernel implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("kextnet.kernel");
    /** Period of the slow timer. */
    public static final long SLOW_TICK_MILLIS = 100;

    private final String name;
    private final Buffers buffers;
    private final Stats stats = new Stats();
    private final GracePeriod grace;
    private final EventBus events;
    private final IpFilters ipFilters;
    private final ControlRegistry controls;
    private final SocketFilters socketFilters;
    private final ExtensionInterfaces extensionInterfaces;
    private final Protocols protocols;
    private final Domains domains;
    private final Nke nke;
    private volatile boolean asleep;
    private final ThreadLocal<PacketContext> contexts = ThreadLocal.withInitial(this::newLocalContext);
    private final Map<String, Interface> interfaces = new ConcurrentHashMap<>();
    private final AtomicInteger nextIndex = new AtomicInteger(1);
    private final RouteTable routes = new RouteTable(this::configChanged);
    /** Bumped after every published change of addresses or routes: packet threads' caches check it. */
    private volatile int configGeneration;
    private static final VarHandle CONFIG_GENERATION;
    static {
        try {
            CONFIG_GENERATION = MethodHandles.lookup().findVarHandle(Kernel.class, "configGeneration", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    private final IpInput ipInput;
    private final IpOutput ipOutput;
    private final Reassembly reassembly;
    private final IcmpLayer icmp;
    private final UdpLayer udp;
    private final LongSupplier clock;
    private final ScheduledExecutorService timer;
    private final Interface loopback;
    private final Route loopbackRoute;
    private volatile int[] localAddresses = new int[0];
    private volatile boolean forwarding;
    private volatile boolean closed;

    /** A kernel with the standard buffer pools. */
    public Kernel(String name) {
        this(name, Buffers.standard());
    }

    public Kernel(String name, Buffers buffers) {
        this(name, buffers, null);
    }

    /**
     * A kernel that reads the time from {@code clock} (nanoseconds, as {@link System#nanoTime}) and does not
     * run the slow timeouts on its timer thread: its owner drives them with {@link #tick}. Tests use it with a
     * synthetic clock so that ARP retries, reassembly timeouts and the ICMP rate limit never depend on
     * sleeping. (The timer thread still runs extension callouts.) With a null clock the kernel uses the
     * system clock and runs the slow timeouts itself.
     */
    public Kernel(String name, Buffers buffers, LongSupplier clock) {
        this.name = name;
        this.buffers = buffers;
        this.clock = clock != null ? clock : System::nanoTime;
        this.grace = new GracePeriod(name);
        this.events = new EventBus(this);
        this.ipFilters = new IpFilters(this);
        this.controls = new ControlRegistry(this);
        this.socketFilters = new SocketFilters(this);
        this.extensionInterfaces = new ExtensionInterfaces(this);
        this.protocols = new Protocols(this);
        this.domains = new Domains(this);
        this.nke = new Nke(this);
        protocols.registerKernelProtocols();
        this.ipInput = new IpInput(this);
        this.ipOutput = new IpOutput(this);
        this.reassembly = new Reassembly(this);
        this.icmp = new IcmpLayer(this);
        this.udp = new UdpLayer(this);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kextnet-" + name + "-timer");
            t.setDaemon(true);
            return t;
        });
        this.loopback = createInterface("lo0", IfFamily.LOOPBACK, new LoopbackDriver(), 0, 16384);
        addAddress(loopback, new InterfaceAddress(Ipv4.parse("127.0.0.1"), 8));
        loopback.up();
        this.loopbackRoute = new Route(0, 0, 0, loopback, true);
        if (clock == null) timer.scheduleAtFixedRate(this::slowTick, SLOW_TICK_MILLIS, SLOW_TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    public String name() { return name; }
    public Buffers buffers() { return buffers; }
    public Stats stats() { return stats; }
    public RouteTable routes() { return routes; }
    public IpInput ipInput() { return ipInput; }
    public IpOutput ipOutput() { return ipOutput; }
    public Reassembly reassembly() { return reassembly; }
    public IcmpLayer icmp() { return icmp; }
    public UdpLayer udp() { return udp; }
    public Interface loopback() { return loopback; }
    public long nanoTime() { return clock.getAsLong(); }
    /** The kernel's grace periods: read-side sections on the packet path, deferred reclaim of removed filters. */
    public GracePeriod grace() { return grace; }
    /** The kernel event bus. */
    public EventBus events() { return events; }
    /** The IP filter heads. */
    public IpFilters ipFilters() { return ipFilters; }
    /** The kernel controls. */
    public ControlRegistry controls() { return controls; }
    /** The socket filters registered for the kernel's sockets. */
    public SocketFilters socketFilters() { return socketFilters; }
    /** Interfaces created by extensions. */
    public ExtensionInterfaces extensionInterfaces() { return extensionInterfaces; }
    /** Protocol plumbers, attachments and protocol inputs. */
    public Protocols protocols() { return protocols; }
    /** Protocols added to domains by extensions. */
    public Domains domains() { return domains; }
    /** The extension registry: KPI handles, fault policy, tag ids. */
    public Nke nke() { return nke; }
    /** The timer thread (slow timeouts and extension callouts). */
    public ScheduledExecutorService timer() { return timer; }

    /** The calling thread's packet context. */
    public PacketContext context() { return contexts.get(); }

    private PacketContext newLocalContext() {
        return new PacketContext(this, stats.local(), grace, GracePeriod.stripeFor(Thread.currentThread()), null);
    }

    /**
     * A context for a thread that runs packet code and keeps its context itself (a driver's reader), with a
     * buffer cache of its own: the thread must {@link PacketContext#close()} it when it stops.
     */
    public PacketContext newContext() {
        return new PacketContext(this, stats.newCells(), grace, GracePeriod.stripeFor(Thread.currentThread()),
                new BufferCache(buffers.small()));
    }

    public boolean forwarding() { return forwarding; }
    public void setForwarding(boolean on) { forwarding = on; }

    /**
     * Creates an interface over {@code driver} and starts the driver. The interface starts down and
     * without addresses.
     *
     * @throws IllegalArgumentException if the name is taken
     */
    public Interface createInterface(String ifName, IfFamily family, Driver driver, long lladdr, int mtu) {
        if (closed) throw new IllegalStateException("kernel " + name + " is closed");
        return attachInterface(new Interface(this, ifName, allocateIndex(), family, driver, lladdr, mtu));
    }

    /** The next interface index. */
    public int allocateIndex() { return nextIndex.getAndIncrement(); }

    /**
     * Attaches an interface built elsewhere (an extension's): makes it visible, starts its driver, posts
     * {@code KEV_DL_IF_ATTACHED} and lets the plumbers of its family plumb it.
     * @throws IllegalArgumentException if the name is taken
     */
    public Interface attachInterface(Interface ifp) {
        if (closed) throw new IllegalStateException("kernel " + name + " is closed");
        if (interfaces.putIfAbsent(ifp.name(), ifp) != null) throw new IllegalArgumentException("interface " + ifp.name() + " exists");
        try {
            ifp.driver().start(ifp);
        } catch (RuntimeException e) {
            interfaces.remove(ifp.name());
            throw e;
        }
        ifp.postEvent(KernelEvents.KEV_DL_SUBCLASS, KernelEvents.KEV_DL_IF_ATTACHED);
        protocols.interfaceAttached(ifp); // the plumbers for its family: the kernel's IPv4 among them
        return ifp;
    }

    /**
     * Stops and removes an interface with its addresses and routes. Posts {@code KEV_DL_IF_DETACHING}, detaches
     * the interface's filters (their {@code detached} callbacks follow after a grace period), and posts
     * {@code KEV_DL_IF_DETACHED} once no packet thread can still be using the interface.
     */
    public void destroyInterface(String ifName) {
        Interface ifp = interfaces.get(ifName);
        if (ifp == null) throw new IllegalArgumentException("no interface " + ifName);
        if (ifp == loopback) throw new IllegalArgumentException("lo0 cannot be destroyed");
        detachInterface(ifp, () -> {});
    }

    /**
     * Detaches an interface ({@code ifnet_detach}): as {@link #destroyInterface}, then runs {@code detached} on the
     * reclaim thread after {@code KEV_DL_IF_DETACHED}.
     * @return false if it was not attached
     */
    public boolean detachInterface(Interface ifp, Runnable detached) {
        if (interfaces.get(ifp.name()) != ifp || !ifp.startDetach()) return false;
        ifp.postEvent(KernelEvents.KEV_DL_SUBCLASS, KernelEvents.KEV_DL_IF_DETACHING);
        ifp.down();
        routes.removeInterface(ifp);
        interfaces.remove(ifp.name(), ifp);
        refreshLocalAddresses();
        protocols.interfaceDetaching(ifp);
        ifp.markDetached();
        ifp.driver().stop();
        grace.defer(() -> {
            events.post(KernelEvent.of(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS,
                    KernelEvents.KEV_DL_SUBCLASS, KernelEvents.KEV_DL_IF_DETACHED, ifp.eventData().encode()));
            detached.run();
        });
        return true;
    }

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
        PacketContext ctx = context();
        for (Interface ifp : interfaces()) ifp.filters().event(ctx, e);
        events.post(e);
    }

    /** Whether the kernel was put to sleep. */
    public boolean isAsleep() { return asleep; }

    public Interface findInterface(String ifName) { return interfaces.get(ifName); }

    /** Interfaces in index order. */
    public List<Interface> interfaces() {
        List<Interface> l = new ArrayList<>(interfaces.values());
        l.sort((a, b) -> Integer.compare(a.index(), b.index()));
        return l;
    }

    /** Assigns an address and adds its connected route. */
    public void addAddress(Interface ifp, InterfaceAddress a) {
        ifp.addAddress(a);
        refreshLocalAddresses();
        if (a.prefixLength() < 32) {
            try {
                routes.add(new Route(a.network(), a.prefixLength(), 0, ifp, true));
            } catch (IllegalArgumentException e) {
                // another interface already reaches that subnet: keep its route
            }
        }
    }

    public boolean removeAddress(Interface ifp, int address) {
        InterfaceAddress found = null;
        for (InterfaceAddress a : ifp.addresses()) if (a.address() == address) found = a;
        if (found == null || !ifp.removeAddress(address)) return false;
        refreshLocalAddresses();
        Route r = routes.lookup(found.network());
        if (r != null && r.connected() && r.ifp() == ifp && r.prefixLength() == found.prefixLength()) {
            routes.remove(found.network(), found.prefixLength());
        }
        return true;
    }

    private synchronized void refreshLocalAddresses() {
        List<Integer> all = new ArrayList<>();
        for (Interface i : interfaces.values()) for (InterfaceAddress a : i.addresses()) all.add(a.address());
        localAddresses = all.stream().mapToInt(Integer::intValue).toArray();
        configChanged();
    }

    /**
     * The configuration generation: changes whenever an address or a route changed, after the change is
     * visible. A decision cached under one generation holds while it is current.
     */
    public int configGeneration() { return configGeneration; }

    /** Called after a change of addresses or routes was published. */
    public void configChanged() { int unused = (int) CONFIG_GENERATION.getAndAdd(this, 1); }

    /** Whether {@code a} is assigned to any interface of this kernel (the weak host model, RFC 1122 3.3.4.2). */
    public boolean isLocalAddress(int a) {
        for (int x : localAddresses) if (x == a) return true;
        return false;
    }

    /** The route for {@code dst}: through lo0 for this host's own addresses, else from the table. */
    public Route routeFor(int dst) {
        if (isLocalAddress(dst)) return loopbackRoute;
        return routes.lookup(dst);
    }

    /** The source address a packet to {@code dst} would carry, or 0 without a route. */
    public int sourceAddressFor(int dst) {
        if (isLocalAddress(dst)) return dst;
        Route r = routes.lookup(dst);
        if (r == null) return 0;
        for (InterfaceAddress a : r.ifp().addresses()) if (a.contains(r.nextHop(dst))) return a.address();
        return r.ifp().primaryAddress();
    }

    /** Called when input code failed unexpectedly on a packet; the packet was dropped and counted. */
    public void reportError(Interface ifp, RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "input error on " + ifp + ": " + e, e);
    }

    private void slowTick() {
        try {
            tick(context(), nanoTime());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "timer failed", e);
        }
    }

    /** The slow timeouts (ARP retries and expiry, reassembly) as of {@code now}; the timer thread calls it. */
    public void tick(PacketContext ctx, long now) {
        for (Interface ifp : interfaces.values()) if (ifp.arp() != null) ifp.arp().tick(ctx, now);
        reassembly.tick(ctx, now);
    }

    /** Stops every driver and the timer. Buffers still held elsewhere stay valid until the JVM exits. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        timer.shutdownNow();
        for (Interface ifp : interfaces()) {
            try {
                ifp.down();
                ifp.driver().stop();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "stopping " + ifp, e);
            }
        }
        grace.close(); // after the readers stopped: pending detached callbacks run now
    }
}
