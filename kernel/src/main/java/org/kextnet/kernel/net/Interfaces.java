package org.kextnet.kernel.net;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.kextnet.kernel.event.EventBus;
import org.kextnet.kernel.hook.Heads;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.Layers.LinkLayer;
import org.kextnet.kernel.sync.KernelThreads;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;

/**
 * The interfaces of one kernel ({@code ifnet_head}) and what they share: the packet contexts, the event bus,
 * the hook points' grace periods and fault policy. Attaching and detaching an interface happen here, in
 * order; the layers above take part through {@link Observer}s (IPv4 drops the interface's routes and
 * addresses, the protocol registry plumbs and unplumbs its protocols), so this layer knows none of them.
 */
public final class Interfaces {
    private static final System.Logger LOG = System.getLogger("kextnet.kernel");

    /** A layer above that keeps state per interface. */
    public interface Observer {
        /** {@code ifp} is attached and its driver started: plumb what belongs on it. */
        default void attached(Interface ifp) {}

        /** {@code ifp} is going away (down, no longer listed): drop everything that points at it. */
        default void detaching(Interface ifp) {}
    }

    private final String kernelName;
    private final KernelThreads threads;
    private final Contexts contexts;
    private final EventBus events;
    private final Heads heads;
    private final Map<String, Interface> byName = new ConcurrentHashMap<>();
    private final AtomicInteger nextIndex = new AtomicInteger(1);
    private final List<Observer> observers = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    public Interfaces(KernelThreads threads, Contexts contexts, EventBus events, Heads heads) {
        this.kernelName = threads.kernelName();
        this.threads = threads;
        this.contexts = contexts;
        this.events = events;
        this.heads = heads;
    }

    /** The kernel's name, for thread names. */
    public String kernelName() { return kernelName; }
    /** The kernel's threads: drivers start their readers here, so that a stuck one can be replaced. */
    public KernelThreads threads() { return threads; }
    public Contexts contexts() { return contexts; }
    public EventBus events() { return events; }
    public Heads heads() { return heads; }

    /** Adds an observer; observers hear of attaches in the order they were added, of detaches likewise. */
    public void observe(Observer o) { observers.add(o); }

    /** The next interface index. */
    public int allocateIndex() { return nextIndex.getAndIncrement(); }

    /**
     * A new interface over {@code driver} with {@code link}'s framing, not yet attached: it starts down and
     * without addresses.
     */
    public Interface create(String name, IfFamily family, Driver driver, long lladdr, int mtu, LinkLayer link) {
        return new Interface(this, name, allocateIndex(), family, driver, lladdr, mtu, link, null, 0);
    }

    /**
     * Attaches an interface: makes it visible, starts its driver, posts {@code KEV_DL_IF_ATTACHED} and lets the
     * observers plumb it.
     * @throws IllegalArgumentException if the name is taken
     */
    public Interface attach(Interface ifp) {
        if (closed) throw new IllegalStateException("kernel " + kernelName + " is closed");
        if (ifp.table() != this) throw new IllegalArgumentException(ifp + " belongs to another kernel");
        if (byName.putIfAbsent(ifp.name(), ifp) != null) throw new IllegalArgumentException("interface " + ifp.name() + " exists");
        try {
            ifp.driver().start(ifp);
        } catch (RuntimeException e) {
            byName.remove(ifp.name());
            throw e;
        }
        ifp.postEvent(KernelEvents.KEV_DL_SUBCLASS, KernelEvents.KEV_DL_IF_ATTACHED);
        for (Observer o : observers) o.attached(ifp);
        return ifp;
    }

    /**
     * Detaches an interface ({@code ifnet_detach}): posts {@code KEV_DL_IF_DETACHING}, takes it down and off the
     * list, lets the observers drop what points at it, detaches its filters (their {@code detached} callbacks
     * follow after a grace period) and stops its driver; once no packet thread can still be using it, posts
     * {@code KEV_DL_IF_DETACHED} and runs {@code detached} on the reclaim thread.
     * @return false if it was not attached
     */
    public boolean detach(Interface ifp, Runnable detached) {
        if (byName.get(ifp.name()) != ifp || !ifp.startDetach()) return false;
        ifp.postEvent(KernelEvents.KEV_DL_SUBCLASS, KernelEvents.KEV_DL_IF_DETACHING);
        ifp.down();
        byName.remove(ifp.name(), ifp);
        for (Observer o : observers) o.detaching(ifp);
        ifp.markDetached();
        ifp.driver().stop();
        heads.grace().defer(() -> {
            events.post(KernelEvent.of(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS,
                    KernelEvents.KEV_DL_SUBCLASS, KernelEvents.KEV_DL_IF_DETACHED, ifp.eventData().encode()));
            detached.run();
        });
        return true;
    }

    public Interface find(String name) { return byName.get(name); }

    /** Interfaces in index order. */
    public List<Interface> list() {
        List<Interface> l = new ArrayList<>(byName.values());
        l.sort((a, b) -> Integer.compare(a.index(), b.index()));
        return l;
    }

    /** Called when packet code failed unexpectedly on {@code ifp}; the packet was dropped and counted. */
    public void reportError(Interface ifp, RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "input error on " + ifp + ": " + e, e);
    }

    /** Takes every interface down and stops its driver (the kernel is closing). */
    public void close() {
        closed = true;
        for (Interface ifp : list()) {
            try {
                ifp.down();
                ifp.driver().stop();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "stopping " + ifp, e);
            }
        }
    }
}
