package org.kextnet.kernel.hook;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

import org.kextnet.kpi.Registration;

/**
 * The kernel's record of one registration an extension made: its owner, its head, its state, and what was
 * counted of the calls into it. Each kind (filter entry, control, plumber, ...) extends it and says how the
 * kernel removes it on unload.
 *
 * <p>Calls into its callbacks go through a {@link CallSlot} (the calling thread's): heads on the packet path
 * bracket them with {@link CallSlot#enter}/{@link CallSlot#exit} themselves, other places use {@link #call} and
 * {@link #run}, and final callbacks {@link #finish}. The per-call counts live in every slot's counts at this
 * registration's {@link #cell}, so that each thread counts with a plain increment; a read ({@link #counters()})
 * sums the slots.
 */
public abstract class KernelRegistration implements Registration {
    private static final VarHandle SILENCED;
    static {
        try {
            SILENCED = MethodHandles.lookup().findVarHandle(KernelRegistration.class, "silenced", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Owner owner;
    final Head head;
    private final String kind;
    private final String name;
    private final AtomicLong faults = new AtomicLong();
    private final AtomicLong overBudget = new AtomicLong();
    /** The longest call over budget since the watchdog last reported, and whether a report is queued. */
    private final AtomicLong longestOver = new AtomicLong();
    volatile boolean reportQueued;
    /** When the owner last logged calls over budget (the watchdog's clock), to log at most once a second. */
    long lastReported = Long.MIN_VALUE;
    private volatile State state = State.ACTIVE;
    /** The first of this registration's {@link CallSlot#ROW} cells in every slot's counts. */
    final int cell;
    /** What its cells held when it got them (another registration's, before). */
    private final long[] baseline = new long[CallSlot.ROW];
    private final Watchdog watchdog;
    /** Its counts when it ended, after which its cells serve another registration. */
    private volatile Counters last;
    /**
     * Set when the extension is stuck: every call into it is refused from then on, final callbacks included.
     * Read plainly on the packet path; the watchdog also takes a stuck extension's filters out of their chains.
     */
    boolean silenced;
    private volatile boolean finalRunning;
    private final AtomicBoolean finished = new AtomicBoolean();

    protected KernelRegistration(Owner owner, Head head, String kind, String name) {
        this.owner = owner;
        this.head = head;
        this.kind = kind;
        this.name = name;
        this.watchdog = owner.slots().watchdog();
        this.cell = watchdog.newCounter(baseline);
    }

    public Owner owner() { return owner; }
    /** The kind of head that calls it, which sets its call budgets. */
    public Head head() { return head; }
    @Override public String kind() { return kind; }
    @Override public String name() { return name; }
    @Override public State state() { return state; }
    @Override public long faults() { return faults.get(); }

    public boolean isActive() { return state == State.ACTIVE; }

    /** Whether its extension is stuck: the kernel calls none of its callbacks any more. */
    public boolean isSilenced() { return (boolean) SILENCED.getVolatile(this); }

    /**
     * The extension's object whose methods the kernel calls (the filter, the control), if there is one: a fault's
     * stack trace is cut below the outermost frame of its class and the head's frame that called it.
     */
    protected Object target() { return null; }

    /** The class whose frames are the extension's in a stack trace of a call into this registration, or null. */
    public final String targetClassName() {
        Object t = target();
        if (t == null) return null;
        String n = t.getClass().getName();
        int lambda = n.indexOf("$$Lambda");
        return lambda > 0 ? n.substring(0, lambda) : n;
    }

    /** Moves ACTIVE to DETACHING; returns false if removal had already started. */
    protected final synchronized boolean beginDetach() {
        if (state != State.ACTIVE) return false;
        state = State.DETACHING;
        return true;
    }

    /** The final state, after the last callback ran: the owner forgets the registration. Runs once. */
    protected final void finishDetach(Removal why) {
        if (!finished.compareAndSet(false, true)) return;
        last = counters();
        watchdog.freeCounter(cell);
        state = isSilenced() ? State.FAULTED : why.endState();
        owner.forget(this);
    }

    /**
     * Runs the final callback {@code callback} (named {@code name}; may be null) on the calling thread's slot,
     * guarded, then ends the registration ({@link #finishDetach}). A stuck extension's final callback is not
     * called; if the watchdog gives up on it while it runs, the watchdog ends the registration instead.
     */
    protected final void finish(Removal why, String name, Runnable callback) {
        if (callback != null && !isSilenced()) {
            finalRunning = true;
            try {
                run(name, callback);
            } finally {
                finalRunning = false;
            }
        }
        finishDetach(why);
    }

    /** The watchdog gave up on a call into this registration: if it was the final callback, end it here. */
    final void abandonedCall() {
        if (finalRunning) finishDetach(Removal.QUARANTINE);
    }

    /**
     * From now on every call into this registration is refused ({@link CallSlot#REFUSED}), final callbacks
     * included: its extension is stuck ({@link Owner#silence}).
     */
    public final void silence() { SILENCED.setVolatile(this, true); }

    // ---- calls from the control path ----

    /**
     * Calls one of its callbacks, {@code callback} (its name), on the calling thread's slot: timed and counted; a
     * throw counts a fault ({@link #fault}).
     * @return the callback's result, or {@code onFault} if it threw or the extension is stuck
     */
    public final int call(String callback, IntSupplier body, int onFault) {
        CallSlots slots = owner.slots();
        CallSlot s = slots.acquireSlot();
        try {
            return call(s, callback, body, onFault);
        } finally {
            slots.releaseSlot(s);
        }
    }

    /** As {@link #call(String, IntSupplier, int)}, on a slot the caller holds. */
    public final int call(CallSlot s, String callback, IntSupplier body, int onFault) {
        int r;
        try {
            s.enter(this);
            r = body.getAsInt();
        } catch (Throwable t) {
            s.threw(t);
            fault(callback, t);
            return onFault;
        }
        s.exit();
        return r;
    }

    /** Runs one of its callbacks that returns nothing, as {@link #call}; false if it threw or was refused. */
    public final boolean run(String callback, Runnable body) {
        CallSlots slots = owner.slots();
        CallSlot s = slots.acquireSlot();
        try {
            return run(s, callback, body);
        } finally {
            slots.releaseSlot(s);
        }
    }

    /** As {@link #run(String, Runnable)}, on a slot the caller holds. */
    public final boolean run(CallSlot s, String callback, Runnable body) {
        try {
            s.enter(this);
            body.run();
        } catch (Throwable t) {
            s.threw(t);
            fault(callback, t);
            return false;
        }
        s.exit();
        return true;
    }

    /**
     * Counts a fault of one of its callbacks ({@link #countFault}) and, at the fault limit, quarantines it
     * ({@link #removeByKernel} with {@link Removal#QUARANTINE}). A refused call is no fault.
     */
    public void fault(String callback, Throwable t) {
        if (countFault(callback, t)) removeByKernel(Removal.QUARANTINE);
    }

    /**
     * Counts a fault of one of this registration's callbacks and logs it (with its stack trace the first
     * time). Returns true when the fault limit is reached and the registration should be quarantined. A call
     * refused because the extension is stuck ({@link CallSlot#REFUSED}) is not counted.
     */
    public final boolean countFault(String callback, Throwable t) {
        if (t == CallSlot.REFUSED) return false;
        return owner.faulted(this, callback, t, faults.incrementAndGet());
    }

    // ---- counters ----

    /**
     * A call took {@code nanos}, over its soft budget: counted here, and queued for the watchdog, which logs it
     * on its own thread (the packet thread allocates nothing).
     */
    final void overBudget(long nanos, Watchdog watchdog) {
        overBudget.incrementAndGet();
        longestOver.accumulateAndGet(nanos, Math::max);
        if (!reportQueued) {
            reportQueued = true;
            watchdog.report(this);
        }
    }

    /** The longest call over budget since the last call of this method. */
    final long takeLongestOver() { return longestOver.getAndSet(0); }

    private long sum(int k) { return watchdog.count(cell + k) - baseline[k]; }

    @Override public Counters counters() {
        Counters c = last;
        if (c != null) return c;
        long passed = sum(CallSlot.PASSED), swallowed = sum(CallSlot.SWALLOWED), dropped = sum(CallSlot.DROPPED);
        long calls = sum(CallSlot.OTHER) + passed + swallowed + dropped + sum(CallSlot.THREW);
        return new Counters(calls, passed, swallowed, dropped, faults.get(), overBudget.get(), sum(CallSlot.NANOS));
    }

    /**
     * Removes the registration as its own remove call would (asynchronously where the KPI says so).
     * Called by unload for stragglers and by quarantine.
     * @param why a clean-up ({@link Removal#REQUESTED}) or a quarantine after repeated faults
     * @return false if the kernel cannot remove it now (a control with connected clients)
     */
    public abstract boolean removeByKernel(Removal why);

    /**
     * Removes the registration although its owner did not (a forced unload): as {@link #removeByKernel}, but
     * nothing may refuse, so a kind whose removal waits on others (a control's connected clients) ends those
     * first. Not counted as a fault.
     */
    public boolean forceRemove() {
        return removeByKernel(Removal.REQUESTED);
    }

    /** A line for status listings. */
    public String describe() {
        return kind + " " + name + " (" + state.name().toLowerCase() + (faults() > 0 ? ", " + faults() + " faults" : "") + ")";
    }

    /**
     * Its counters in one line: "12 calls: 10 passed, 1 swallowed, 1 dropped; 0 faults, 0 over budget; 3.2 µs".
     * Packet heads show the verdicts; the time of a packet head is estimated from sampled calls ("~").
     */
    public String describeCounters() {
        Counters c = counters();
        StringBuilder b = new StringBuilder().append(c.calls()).append(" calls");
        if (head.packetPath()) {
            b.append(": ").append(c.passed()).append(" passed, ").append(c.swallowed()).append(" swallowed, ")
                    .append(c.dropped()).append(" dropped");
        }
        b.append("; ").append(c.faults()).append(" faults, ").append(c.overBudget()).append(" over budget; ")
                .append(head.packetPath() ? "~" : "").append(formatNanos(c.nanos()));
        return b.toString();
    }

    /** "850 ns", "3.2 µs", "12.5 ms", "1.20 s". */
    public static String formatNanos(long n) {
        if (n < 1_000) return n + " ns";
        if (n < 1_000_000) return String.format(java.util.Locale.ROOT, "%.1f µs", n / 1e3);
        if (n < 1_000_000_000) return String.format(java.util.Locale.ROOT, "%.1f ms", n / 1e6);
        return String.format(java.util.Locale.ROOT, "%.2f s", n / 1e9);
    }

    @Override public String toString() { return describe(); }
}
