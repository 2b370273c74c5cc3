package org.kextnet.kernel.nke;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.hook.CallSlots;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.hook.Traces;
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
 *
 * <p>It also says how the extension is doing ({@link #health()}): healthy, faulted (a registration was
 * quarantined after repeated faults), or stuck (a call into it ran past its hard limit: the kernel's watchdog
 * abandoned the thread, and the kernel calls none of its callbacks again). Faults and stuck calls are logged to the
 * extension's logger with their stack traces cut to the extension's frames and the head that called it.
 */
public final class ExtensionHandle implements Kpi, Owner {
    /** How an extension is doing, as {@code kl_util} shows it. */
    public enum Health {
        /** No registration was quarantined. */
        OK(""),
        /** A registration was removed after repeated faults. */
        FAULTED("Faulted"),
        /** A call into the extension did not return within its hard limit; the kernel no longer calls into it. */
        STUCK("Faulted (stuck)");

        private final String label;

        Health(String label) { this.label = label; }

        /** "", "Faulted" or "Faulted (stuck)". */
        public String label() { return label; }
    }

    private final Nke nke;
    private final String name;
    private final System.Logger log;
    private final Set<KernelRegistration> live = new LinkedHashSet<>();
    private volatile boolean closed;
    private volatile boolean faulted;
    private volatile long faults;
    private volatile boolean stuck;
    /** Set by the watchdog first: no call into the extension, no new registration. */
    private volatile boolean silenced;
    /** What got stuck, for status: "ipfilter x, 1.00 s on thread T (abandoned, replaced)". */
    private volatile String stuckIn;

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

    /** Throws ENXIO-style refusal when the handle is closed or the extension stuck; registration calls check it first. */
    @Override public void checkOpen() throws org.kextnet.kpi.KpiException {
        if (closed) throw new org.kextnet.kpi.KpiException(Errno.ENXIO, "extension " + name + " is unloaded");
        if (silenced) throw new org.kextnet.kpi.KpiException(Errno.ENXIO, "extension " + name + " is stuck" + (stuckIn == null ? "" : ": " + stuckIn));
    }

    @Override public boolean isKernel() { return this == nke.kernelHandle(); }

    @Override public CallSlots slots() { return nke.parts().contexts(); }

    /** Records a new registration (called by the kernel when it accepts one). */
    @Override public void record(KernelRegistration r) {
        synchronized (live) {
            live.add(r);
            live.notifyAll();
        }
        if (silenced) r.silence(); // accepted while the watchdog was silencing the others
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

    /** Whether a registration of this extension was quarantined (after repeated faults, or stuck). */
    public boolean isFaulted() { return faulted; }

    /** Whether a call into this extension ran past its hard limit: the kernel no longer calls into it. */
    public boolean isStuck() { return stuck; }

    /** How the extension is doing: {@link Health#STUCK} over {@link Health#FAULTED} over {@link Health#OK}. */
    public Health health() { return stuck ? Health.STUCK : faulted ? Health.FAULTED : Health.OK; }

    /** What got stuck ("ipfilter x: ... on thread T, ..."), or null. */
    public String stuckIn() { return stuckIn; }

    /** Faults counted over all the extension's registrations. */
    public long faultCount() { return faults; }

    /**
     * Called by a registration when one of its callbacks threw: the first fault is logged with its stack trace
     * (cut to the extension's frames and the head that called it), and so is the one that reaches the limit.
     */
    @Override public boolean faulted(KernelRegistration r, String callback, Throwable t, long n) {
        synchronized (this) {
            faults++;
        }
        int limit = nke.policy().faultLimit();
        if (n == 1) {
            log.log(System.Logger.Level.WARNING, who(r) + ": " + callback + " threw (contained; fault 1, quarantined at "
                    + limit + "): " + Traces.describe(t, r.targetClassName()));
        }
        if (n == limit) {
            faulted = true;
            nke.parts().contexts().stats().count(Stat.NKE_QUARANTINED);
            log.log(System.Logger.Level.ERROR, who(r) + ": removed after " + n + " faults; the last, in " + callback + ": "
                    + Traces.describe(t, r.targetClassName()));
        }
        return n == limit;
    }

    private String who(KernelRegistration r) {
        return r.kind() + " " + r.name() + " (extension " + name + ")";
    }

    /**
     * Calls took longer than their soft budget: logged by the watchdog at most once a second per registration, so
     * a slow filter on a busy path cannot flood the log. The kernel's own (plumbing an interface) are counted on
     * the registration only.
     */
    @Override public void overBudget(KernelRegistration r, long nanos, long n) {
        if (isKernel()) return;
        long budget = nke.parts().heads().limits().soft(r.head());
        log.log(System.Logger.Level.WARNING, who(r) + ": a call took " + KernelRegistration.formatNanos(nanos)
                + ", over its " + KernelRegistration.formatNanos(budget) + " budget (" + n + (n == 1 ? " call" : " calls")
                + " over budget so far)");
    }

    @Override public List<KernelRegistration> silence() {
        silenced = true;
        synchronized (live) {
            for (KernelRegistration r : live) r.silence();
            return new ArrayList<>(live);
        }
    }

    /**
     * The watchdog gave up on a call into {@code r}: logged with the stuck thread's stack, and every registration
     * removed on a thread of its own (the watchdog's must not wait), without calling into the extension.
     */
    @Override public void stuck(KernelRegistration r, Thread thread, StackTraceElement[] trace, long nanos, boolean replaced) {
        String where = thread == null ? "a thread" : "thread " + thread.getName();
        stuckIn = r.kind() + " " + r.name() + " did not return in " + KernelRegistration.formatNanos(nanos) + " on " + where
                + (replaced ? " (abandoned; a new thread does its work)" : " (abandoned)");
        nke.parts().contexts().stats().count(Stat.NKE_STUCK);
        log.log(System.Logger.Level.ERROR, who(r) + ": a call has not returned after " + KernelRegistration.formatNanos(nanos)
                + ", past the hard limit of " + KernelRegistration.formatNanos(nke.parts().heads().limits().hard(r.head()))
                + ". The extension is stuck: every registration is removed and none of its callbacks is called again; "
                + where + " is abandoned" + (replaced ? " and a new thread does its work" : "")
                + " (Java cannot stop it: it runs on until the call returns, if ever)." + Traces.format(trace));
        var threads = nke.parts().interfaces().threads();
        threads.startOnce("kextnet-" + threads.kernelName() + "-quarantine-" + name, this::removeStuck);
        faulted = true;
        stuck = true;
    }

    private void removeStuck() {
        List<KernelRegistration> snapshot;
        synchronized (live) {
            snapshot = new ArrayList<>(live);
        }
        for (KernelRegistration reg : snapshot) {
            try {
                if (reg.isActive()) reg.removeByKernel(Removal.QUARANTINE);
            } catch (RuntimeException e) {
                log.log(System.Logger.Level.ERROR, "removing " + reg + " of a stuck extension failed", e);
            }
        }
    }

    /** Status lines: one per live registration. */
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        for (Registration r : registrations()) l.add(((KernelRegistration) r).describe());
        return l;
    }

    /** The counters of each live registration: "ipfilter x: 12 calls: ...". */
    public List<String> describeCounters() {
        List<String> l = new ArrayList<>();
        for (Registration r : registrations()) {
            KernelRegistration k = (KernelRegistration) r;
            l.add(k.kind() + " " + k.name() + ": " + k.describeCounters());
        }
        return l;
    }

    @Override public String toString() { return "extension " + name; }
}
