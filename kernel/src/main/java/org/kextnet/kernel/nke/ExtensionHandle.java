package org.kextnet.kernel.nke;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.GracePeriod;
import org.kextnet.kpi.Callouts;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.domain.DomainKpi;
import org.kextnet.kpi.event.EventKpi;
import org.kextnet.kpi.interfacefilter.InterfaceFilterKpi;
import org.kextnet.kpi.ipfilter.IpFilterKpi;
import org.kextnet.kpi.mbuf.MbufKpi;
import org.kextnet.kpi.net.InterfaceKpi;
import org.kextnet.kpi.protocol.ProtocolKpi;
import org.kextnet.kpi.socketfilter.SocketFilterKpi;

/**
 * The KPI handle of one extension: the kernel's implementation of {@link Kpi}, bound to the extension's
 * name. It records every registration made through it, so that the loader can check after
 * {@code stop} that none is left ({@link #registrations()}), remove stragglers ({@link #removeAll()}) and wait
 * for their final callbacks ({@link #awaitRemoved}), and it counts the extension's faults.
 */
public final class ExtensionHandle implements Kpi, Owner {
    private final Nke nke;
    private final String name;
    private final System.Logger log;
    private final Set<KernelRegistration> live = new LinkedHashSet<>();
    private volatile boolean closed;
    private volatile boolean faulted;
    private volatile long faults;

    private final MbufKpi mbufs;
    private final IpFilterKpi ipFilters;
    private final InterfaceFilterKpi interfaceFilters;
    private final SocketFilterKpi socketFilters;
    private final InterfaceKpi interfaces;
    private final ProtocolKpi protocols;
    private final DomainKpi domains;
    private final ControlKpi controls;
    private final EventKpi events;
    private final Callouts callouts;

    ExtensionHandle(Nke nke, String name, System.Logger log) {
        this.nke = nke;
        this.name = name;
        this.log = log;
        Subsystems k = nke.parts();
        this.mbufs = new MbufKpiImpl(k.buffers(), nke);
        this.ipFilters = new IpFilterKpiImpl(this, k.ipv4(), k.contexts());
        this.interfaceFilters = new InterfaceFilterKpiImpl(this, k.interfaces());
        this.socketFilters = new SocketFilterKpiImpl(k.socketFilters(), this);
        this.interfaces = new InterfaceKpiImpl(k.extensionInterfaces(), this);
        this.protocols = new ProtocolKpiImpl(k.protocols(), this);
        this.domains = new DomainKpiImpl(k.domains(), this);
        this.controls = new ControlKpiImpl(k.controls(), this);
        this.events = new EventKpiImpl(this);
        this.callouts = new CalloutsImpl(this, k.wheel(), k.contexts());
    }

    public Nke nke() { return nke; }
    /** The kernel's grace periods, after which a removed registration gets its final callback. */
    public GracePeriod grace() { return nke.parts().heads().grace(); }

    @Override public String name() { return name; }
    @Override public MbufKpi mbufs() { return mbufs; }
    @Override public IpFilterKpi ipFilters() { return ipFilters; }
    @Override public InterfaceFilterKpi interfaceFilters() { return interfaceFilters; }
    @Override public SocketFilterKpi socketFilters() { return socketFilters; }
    @Override public InterfaceKpi interfaces() { return interfaces; }
    @Override public ProtocolKpi protocols() { return protocols; }
    @Override public DomainKpi domains() { return domains; }
    @Override public ControlKpi controls() { return controls; }
    @Override public EventKpi events() { return events; }
    @Override public Callouts callouts() { return callouts; }
    @Override public System.Logger log() { return log; }

    /** Whether the extension was unloaded: registration calls then fail with ENXIO. */
    public boolean isClosed() { return closed; }

    /** Throws ENXIO-style refusal when the handle is closed; registration calls check it first. */
    @Override public void checkOpen() throws org.kextnet.kpi.KpiException {
        if (closed) throw new org.kextnet.kpi.KpiException(Errno.ENXIO, "extension " + name + " is unloaded");
    }

    /** Records a new registration (called by the kernel when it accepts one). */
    @Override public void record(KernelRegistration r) {
        synchronized (live) {
            live.add(r);
            live.notifyAll();
        }
    }

    /** Forgets a registration whose final callback ran. */
    @Override public void forget(KernelRegistration r) {
        synchronized (live) {
            live.remove(r);
            live.notifyAll();
        }
    }

    @Override public List<Registration> registrations() {
        synchronized (live) {
            return new ArrayList<>(live);
        }
    }

    @Override public int removeAll() {
        List<KernelRegistration> snapshot;
        synchronized (live) {
            snapshot = new ArrayList<>(live);
        }
        for (KernelRegistration r : snapshot) if (r.isActive()) r.removeByKernel(Removal.REQUESTED);
        synchronized (live) {
            return live.isEmpty() ? 0 : Errno.EBUSY;
        }
    }

    /**
     * A forced unload: starts removing every live registration, refusing none (a control's clients are
     * disconnected first). The final callbacks may still run after this returns; {@link #awaitRemoved} waits
     * for them.
     * @return the number of registrations whose removal this started
     */
    public int forceRemoveAll() {
        List<KernelRegistration> snapshot;
        synchronized (live) {
            snapshot = new ArrayList<>(live);
        }
        int n = 0;
        for (KernelRegistration r : snapshot) {
            if (r.isActive()) {
                r.forceRemove();
                n++;
            }
        }
        return n;
    }

    /** Waits until no registration is left (each final callback ran). */
    public boolean awaitRemoved(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        synchronized (live) {
            while (!live.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                TimeUnit.NANOSECONDS.timedWait(live, left);
            }
            return true;
        }
    }

    /** Closes the handle after unload: later registration calls fail with ENXIO, and the name is free again. */
    public void close() {
        closed = true;
        nke.closed(this);
    }

    /** Whether a registration of this extension was quarantined after repeated faults. */
    public boolean isFaulted() { return faulted; }

    /** Faults counted over all the extension's registrations. */
    public long faultCount() { return faults; }

    /** Called by a registration when one of its callbacks threw. */
    @Override public boolean faulted(KernelRegistration r, String callback, Throwable t, long n) {
        synchronized (this) {
            faults++;
        }
        int limit = nke.policy().faultLimit();
        if (n == 1) {
            log.log(System.Logger.Level.WARNING, r.kind() + " " + r.name() + ": " + callback + " threw (contained)", t);
        }
        if (n == limit) {
            faulted = true;
            nke.parts().contexts().stats().count(Stat.NKE_QUARANTINED);
            log.log(System.Logger.Level.ERROR, r.kind() + " " + r.name() + ": removed after " + n + " faults; last: " + t);
        }
        return n == limit;
    }

    /** Status lines: one per live registration. */
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        for (Registration r : registrations()) l.add(((KernelRegistration) r).describe());
        return l;
    }

    @Override public String toString() { return "extension " + name; }
}
