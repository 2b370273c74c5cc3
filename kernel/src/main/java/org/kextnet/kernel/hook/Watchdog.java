package org.kextnet.kernel.hook;

import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

import org.kextnet.kernel.stat.StatCells;
import org.kextnet.kernel.sync.Clock;
import org.kextnet.kernel.sync.KernelThreads;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.sync.ThreadAbandoned;

/**
 * One kernel's watchdog over the calls into extensions: a platform thread that ticks at a quarter of the
 * smallest soft budget ({@link CallLimits}), publishes the kernel's clock as a coarse time that each
 * {@link CallSlot} stamps its calls with (so no call arms a timer or reads a clock of its own), and looks at what
 * every slot is calling. A call it has seen running past its head's hard limit makes the extension <b>stuck</b>:
 *
 * <ol>
 * <li>the call is marked abandoned (one CAS on the slot's state; the thread, should the call ever return,
 * unwinds with {@link ThreadAbandoned});</li>
 * <li>every registration of the extension is silenced: the kernel calls none of its callbacks again, so that no
 * other thread follows the stuck one into it; its filters leave their chains at once;</li>
 * <li>the slot's packet context ends its read-side section on its behalf, so that grace periods go on, and
 * retires;</li>
 * <li>if the thread was one of the kernel's own (a driver's reader, the timer, the reclaim thread), its work
 * starts again on a new thread ({@link KernelThreads#replace});</li>
 * <li>the extension logs the stuck call with the thread's stack and removes every registration, without calling
 * into it.</li>
 * </ol>
 *
 * <p>Java cannot stop a thread that spins or sleeps inside an extension: the abandoned thread goes on running
 * the extension's code until that code returns, if ever. The watchdog only makes sure the kernel no longer waits
 * for it.
 *
 * <p>The age of a call is what the watchdog saw of it on the kernel's clock, tick by tick; on a real clock a tick that
 * came much later than asked (the watchdog itself was held up: a pause of the whole JVM, a starved CPU) counts for at
 * most {@link #MAX_STEP_NANOS}, so a pause that stopped every thread does not make their calls look stuck. On a
 * {@link ManualClock} every step the owner makes counts.
 */
public final class Watchdog implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("kextnet.nke");
    /** The most of one tick's time counted against a call when the tick came late. */
    static final long MAX_STEP_NANOS = 100_000_000L;

    private final Clock clock;
    private final boolean manual;
    private final KernelThreads threads;
    private final KernelThreads.Worker worker;
    /**
     * The kernel's clock at the last tick: what calls are stamped with. Written with a volatile store, read
     * opaquely on the packet path ({@link #coarse}): a read that orders nothing, so the compiler may keep the
     * loads around it where they are; the CAS a slow call makes gives the ordering the protocol needs.
     */
    volatile long now;
    private static final java.lang.invoke.VarHandle NOW;
    static {
        try {
            NOW = java.lang.invoke.MethodHandles.lookup().findVarHandle(Watchdog.class, "now", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@link #now}, read opaquely. */
    long coarse() { return (long) NOW.getOpaque(this); }
    private volatile CallLimits limits = CallLimits.DEFAULT;
    private volatile CallSlot[] slots = new CallSlot[0];
    /** Slot ids in use, and those of abandoned slots, which are never given out again. */
    private final BitSet ids = new BitSet();
    /** Counter places ({@link KernelRegistration#cell} / ROW) in use. */
    private final BitSet counters = new BitSet();
    /** The counts of slots that retired, by cell. */
    private long[] retiredCounts = new long[0];
    private final AtomicLong abandoned = new AtomicLong();
    /** Registrations with calls over budget to report, queued by packet threads without allocating. */
    private final AtomicReferenceArray<KernelRegistration> reports = new AtomicReferenceArray<>(64);
    private final AtomicInteger reportsQueued = new AtomicInteger();
    private volatile boolean closed;
    private boolean warnedKernel;

    public Watchdog(Clock clock, KernelThreads threads) {
        this.clock = clock;
        this.manual = clock instanceof ManualClock;
        this.threads = threads;
        this.now = clock.nanoTime();
        this.worker = threads.worker("kextnet-" + threads.kernelName() + "-watchdog", this::run);
    }

    /** Starts the watchdog's thread. */
    public void start() { worker.start(); }

    /** The watchdog's thread now. */
    public Thread thread() { return worker.thread(); }

    public CallLimits limits() { return limits; }

    /** Sets the call budgets; the next tick uses them (and ticks at a quarter of the smallest soft budget). */
    public void setLimits(CallLimits l) {
        limits = java.util.Objects.requireNonNull(l);
        LockSupport.unpark(worker.thread());
    }

    /** How often the watchdog looks: a quarter of the smallest soft budget, within 0.25 .. 10 ms. */
    public long tickNanos() {
        return Math.clamp(limits.minSoft() / 4, 250_000L, 10_000_000L);
    }

    /** The coarse time calls are stamped with (the kernel's clock at the last tick). */
    public long now() { return now; }

    /** Calls abandoned so far. */
    public long abandonedCalls() { return abandoned.get(); }

    /** A slot for a new packet context (counting into {@code stats}), watched from now on. */
    public synchronized CallSlot newSlot(CallSlot.Holder holder, StatCells stats) {
        int id = ids.nextClearBit(0);
        ids.set(id);
        CallSlot s = new CallSlot(this, id, holder, stats);
        CallSlot[] a = Arrays.copyOf(slots, slots.length + 1);
        a[a.length - 1] = s;
        slots = a;
        return s;
    }

    /**
     * Stops watching {@code s} (its context retired). Its row number is given to a later slot unless it was
     * abandoned: an abandoned thread may still count into it if its call returns.
     */
    public synchronized void retire(CallSlot s) {
        CallSlot[] a = slots;
        int i = Arrays.asList(a).indexOf(s);
        if (i < 0) return;
        CallSlot[] n = new CallSlot[a.length - 1];
        System.arraycopy(a, 0, n, 0, i);
        System.arraycopy(a, i + 1, n, i, a.length - i - 1);
        slots = n;
        if (!s.isAbandoned()) ids.clear(s.id);
        long[] c = s.countsAcquire();
        if (c.length > retiredCounts.length) retiredCounts = Arrays.copyOf(retiredCounts, c.length);
        for (int k = 0; k < c.length; k++) retiredCounts[k] += c[k];
    }

    /**
     * A place for a new registration's counts: the index of its first cell. The place may have served a
     * registration before; {@code baseline} gets what its cells hold now, which the new one's counts start from.
     */
    synchronized int newCounter(long[] baseline) {
        int cell = counters.nextClearBit(0) * CallSlot.ROW;
        counters.set(cell / CallSlot.ROW);
        for (int k = 0; k < baseline.length; k++) baseline[k] = sum(cell + k);
        return cell;
    }

    /** A registration ended and keeps its counts itself: its place may be given out again. */
    synchronized void freeCounter(int cell) { counters.clear(cell / CallSlot.ROW); }

    /** Cell {@code k} summed over every slot, retired ones included. */
    synchronized long count(int k) { return sum(k); }

    private long sum(int k) {
        long n = k < retiredCounts.length ? retiredCounts[k] : 0;
        for (CallSlot s : slots) n += s.countOpaque(k);
        return n;
    }

    /** How many slots are watched. */
    public int watched() { return slots.length; }

    private void run() {
        long lastReal = System.nanoTime(), lastKernel = clock.nanoTime();
        while (!closed && worker.isCurrent()) {
            long tick = tickNanos();
            LockSupport.parkNanos(this, tick);
            long real = System.nanoTime(), k = clock.nanoTime();
            long step = Math.max(0, k - lastKernel);
            // A late tick on a real clock: the whole JVM may have stood still (a pause), the calls too. A manual
            // clock moves only when its owner says, and all of that is the kernel's time.
            if (!manual && real - lastReal > Math.max(8 * tick, MAX_STEP_NANOS)) step = Math.min(step, MAX_STEP_NANOS);
            lastReal = real;
            lastKernel = k;
            now = k;
            try {
                scan(step);
                if (reportsQueued.get() > 0) report();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "watchdog scan failed", e);
            }
        }
    }

    /** Looks at every slot once; {@code step} is the kernel's time since the last look. */
    void scan(long step) {
        CallLimits l = limits;
        for (CallSlot s : slots) {
            long state = s.stateOpaque();
            if (state == CallSlot.IDLE || state == CallSlot.ABANDONED) {
                s.seenId = s.seenRootId = 0;
                continue;
            }
            KernelRegistration inner = s.calleeOpaque();
            if (inner == null) continue; // between two stores of the thread: next tick
            if (state == s.seenId) {
                s.seenAge += step;
            } else {
                s.seenId = state;
                s.seenAge = 0;
            }
            long rootId = s.rootId(state);
            KernelRegistration root = s.rootCallee(inner);
            if (rootId == s.seenRootId) {
                s.seenRootAge += step;
            } else {
                s.seenRootId = rootId;
                s.seenRootAge = 0;
            }
            // The innermost call past its limit is the one stuck. The outermost past its own is stuck too, but is
            // blamed only while the thread is in its own code or in nested calls it keeps making afresh (a loop):
            // an inner call that has been running a while is given its own limit.
            KernelRegistration blamed = null;
            long age = 0;
            if (s.seenAge > l.hard(inner.head)) {
                blamed = inner;
                age = s.seenAge;
            } else if (s.seenRootAge > l.hard(root.head) && (state == rootId || s.seenAge == 0)) {
                blamed = root;
                age = s.seenRootAge;
            }
            if (blamed == null) continue;
            if (blamed.owner().isKernel()) {
                if (!warnedKernel) LOG.log(System.Logger.Level.ERROR, "a call into the kernel's own " + blamed + " has run for "
                        + KernelRegistration.formatNanos(age) + " on " + s.thread() + "; the kernel does not quarantine itself");
                warnedKernel = true;
                continue;
            }
            if (s.abandon(state)) stuck(s, blamed, age);
        }
    }

    /**
     * Queues {@code r}'s calls over budget for the next tick's report. Allocates nothing; with every place taken
     * (64 registrations at once) the report waits for the next call over budget, and the count is kept anyway.
     */
    void report(KernelRegistration r) {
        for (int i = 0; i < reports.length(); i++) {
            if (reports.compareAndSet(i, null, r)) {
                reportsQueued.incrementAndGet();
                return;
            }
        }
        r.reportQueued = false;
    }

    /** Gives each queued registration's calls over budget to its owner to log, at most once a second each. */
    private void report() {
        for (int i = 0; i < reports.length(); i++) {
            KernelRegistration r = reports.getAndSet(i, null);
            if (r == null) continue;
            reportsQueued.decrementAndGet();
            long t = now;
            if (r.lastReported != Long.MIN_VALUE && t - r.lastReported < 1_000_000_000L) {
                reports.compareAndSet(i, null, r); // not yet: keep it for a later tick
                reportsQueued.incrementAndGet();
                continue;
            }
            r.reportQueued = false;
            r.lastReported = t;
            try {
                r.owner().overBudget(r, r.takeLongestOver(), r.counters().overBudget());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "reporting calls over budget failed", e);
            }
        }
    }

    private void stuck(CallSlot s, KernelRegistration r, long age) {
        abandoned.incrementAndGet();
        s.blamed = r;
        Thread t = s.thread();
        StackTraceElement[] trace = t != null ? Traces.trim(t.getStackTrace(), r.targetClassName()) : new StackTraceElement[0];
        Owner o = r.owner();
        for (KernelRegistration reg : o.silence()) {
            // Filters leave their chains now, before a new thread takes the stuck one's work: a packet queued
            // behind the stuck one then meets the chain without them. Unpublishing calls no extension.
            if (reg instanceof FilterEntry<?> && reg.isActive()) reg.removeByKernel(Removal.QUARANTINE);
        }
        r.abandonedCall();
        s.holder().abandoned(s);
        boolean replaced = t != null && threads.replace(t);
        o.stuck(r, t, trace, age, replaced);
    }

    /** What a thread whose call was abandoned throws when it finds out. */
    ThreadAbandoned abandoned(CallSlot s, KernelRegistration r) {
        KernelRegistration b = s.blamed != null ? s.blamed : r;
        return new ThreadAbandoned("the kernel's watchdog gave up on this thread: a call into "
                + (b == null ? "an extension" : b + " of extension " + b.owner().name())
                + " ran past its hard limit; the kernel no longer waits for this thread");
    }

    /** Stops the watchdog's thread. */
    @Override public void close() {
        closed = true;
        Thread t = worker.thread();
        if (t != null) LockSupport.unpark(t);
        try {
            worker.stopAndJoin(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
