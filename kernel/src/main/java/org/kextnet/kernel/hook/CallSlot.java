package org.kextnet.kernel.hook;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.StatCells;
import org.kextnet.kernel.sync.ThreadAbandoned;

/**
 * What one thread is calling in extensions now: the kernel's side of "every call into an extension is timed".
 * Every packet context has one ({@code net.PacketContext}); a head brackets each call into an extension with
 * {@link #enter} and {@link #exit} (or {@link #threw}), which cost a few plain stores and one read of the
 * {@link Watchdog}'s coarse clock: no system call, no allocation, no atomic operation on the common path.
 *
 * <p>The call in progress is published as a state word: {@link #IDLE}, or the call's id (a per-slot serial
 * number). The watchdog reads it at every tick; when the same call has been running past its head's hard
 * limit, the watchdog swaps it for {@link #ABANDONED} with one CAS. The thread, when the call returns, finds out
 * whether that happened without an atomic operation in the common case: a call that returns within the tick
 * it started in cannot have been abandoned (the hard limit spans hundreds of ticks), so it clears the state with
 * a plain store; a call that took longer claims the state back with a CAS, and if the watchdog won, the thread
 * unwinds with {@link ThreadAbandoned} and touches nothing its replacement now owns. (The one interleaving this
 * does not cover is a thread preempted between reading the clock and that store for longer than the hard
 * limit; the packet context's section handshake still keeps such a thread off the grace periods and its
 * queue.)
 *
 * <p>Calls nest (a filter that injects a packet runs the chain again on its own thread): the outer frames are
 * saved and restored, and the watchdog watches both the innermost call and the outermost one.
 *
 * <p>Each call is counted against its registration in this slot's row ({@link KernelRegistration#calls()}):
 * plain increments by the owning thread. Its time is measured on one call in about {@value #SAMPLE_MEAN} of a
 * packet head and on every call of the others, with {@link System#nanoTime()}.
 */
public final class CallSlot {
    /** Outcomes of a call, counted per registration: a callback without a verdict, and a packet's fate. */
    public static final int OTHER = 0, PASSED = 1, SWALLOWED = 2, DROPPED = 3, THREW = 4;
    static final int NANOS = 5, ROW = 8;
    /** The state of a slot with no call in progress, and of one the watchdog gave up on. */
    public static final long IDLE = 0, ABANDONED = -1;
    /** Mean distance between timed calls on a packet head (an odd spread, so no chain length aliases with it). */
    public static final int SAMPLE_MEAN = 64;

    /** What owns a slot, and hears when the watchdog abandons it (a packet context). */
    public interface Holder {
        /** The watchdog abandoned the call in progress; called on the watchdog's thread. */
        void abandoned(CallSlot slot);

        /** Enters a read-side section, one the watchdog can end on the thread's behalf. */
        void enter();

        /** Leaves the section entered last. */
        void exit();
    }

    /** The answer to a call into a registration of an extension that is stuck: nothing is called. */
    public static final class Refused extends RuntimeException {
        private Refused() {
            super("the extension is stuck: the kernel no longer calls into it", null, false, false);
        }
    }

    /** Thrown by {@link #enter} for a registration whose extension is stuck; one shared instance. */
    public static final Refused REFUSED = new Refused();

    private static final VarHandle STATE, CALLEE, SAVED, THREAD;
    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(CallSlot.class, "state", long.class);
            CALLEE = l.findVarHandle(CallSlot.class, "callee", KernelRegistration.class);
            SAVED = l.findVarHandle(CallSlot.class, "saved", int.class);
            THREAD = l.findVarHandle(CallSlot.class, "thread", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Watchdog watchdog;
    final int id;
    private final Holder holder;
    /** The owning thread's counters. */
    private final StatCells stats;

    // The call in progress (the innermost). Written by the owning thread; state and callee read by the watchdog.
    private long state;
    private KernelRegistration callee;
    /** The watchdog's coarse time when the innermost call started. */
    private long since;
    private long serial;
    // Outer frames of nested calls, saved[0] the outermost.
    private int saved;
    private long[] savedIds = new long[4], savedSinces = new long[4];
    private KernelRegistration[] savedCallees = new KernelRegistration[4];
    // Timing: a countdown to the next timed call of a packet head, and the call being timed.
    private int countdown = 1;
    private int random;
    private boolean timing;
    private long timingStart, timingWeight;
    private Thread thread;
    /** The registration whose call the watchdog gave up on (for the message the thread unwinds with). */
    volatile KernelRegistration blamed;

    // The watchdog's own records (its thread only): the innermost and the outermost call it saw, and for how
    // long of the kernel's time it has seen each.
    long seenId, seenAge, seenRootId, seenRootAge;

    CallSlot(Watchdog watchdog, int id, Holder holder, StatCells stats) {
        this.watchdog = watchdog;
        this.id = id;
        this.holder = holder;
        this.stats = stats;
        this.random = 0x9E3779B9 * (id + 1);
    }

    /** Its owner (a packet context). */
    public Holder holder() { return holder; }

    /** The number of this slot's row in every registration's counters. */
    public int id() { return id; }

    /** Binds the slot to the thread that uses it now (a leased context moves between threads), or null. */
    public void bind(Thread t) { THREAD.setOpaque(this, t); }

    /** The thread using the slot, or null. */
    public Thread thread() { return (Thread) THREAD.getOpaque(this); }

    /** What this slot's thread throws once it finds out the watchdog abandoned it. */
    public ThreadAbandoned abandonedError() { return watchdog.abandoned(this, null); }

    /** Whether the watchdog abandoned this slot's thread. */
    public boolean isAbandoned() { return (long) STATE.getOpaque(this) == ABANDONED; }

    /**
     * A call into {@code r} starts. Pair it with {@link #exit} when the callback returns, or {@link #threw} when it
     * throws (the two close the frame this opens).
     * @throws Refused if {@code r}'s extension is stuck (no frame is opened)
     * @throws ThreadAbandoned if the watchdog abandoned this thread (no frame is opened)
     */
    public void enter(KernelRegistration r) {
        long s = (long) STATE.getOpaque(this);
        if (s == ABANDONED) throw watchdog.abandoned(this, r);
        if (r.silenced) throw REFUSED;
        long id = ++serial;
        if (s != IDLE) {
            enterNested(r, s, id);
            return;
        }
        since = watchdog.now;
        CALLEE.setOpaque(this, r);
        STATE.setRelease(this, id); // no CAS: the watchdog only ever swaps a call's id, never IDLE
        if (--countdown <= 0 || !r.head.packetPath()) startTiming(r);
    }

    /** A call inside a call: the outer frame is saved, and the state moves on with a CAS (the watchdog may own it). */
    private void enterNested(KernelRegistration r, long outer, long id) {
        push(outer);
        since = watchdog.now;
        CALLEE.setOpaque(this, r);
        if (!STATE.compareAndSet(this, outer, id)) {
            pop();
            throw watchdog.abandoned(this, r);
        }
    }

    /** The call opened last returned with no packet verdict. */
    public void exit() { exit(OTHER); }

    /** The call opened last returned {@code errno} as a packet's verdict: 0 passed, EJUSTRETURN swallowed, else dropped. */
    public void exitVerdict(int errno) {
        exit(errno == 0 ? PASSED : errno == JUSTRETURN ? SWALLOWED : DROPPED);
    }

    private static final int JUSTRETURN = org.kextnet.kpi.Errno.EJUSTRETURN;

    /**
     * The call opened last returned; {@code outcome} is one of {@link #OTHER}, {@link #PASSED},
     * {@link #SWALLOWED}, {@link #DROPPED}.
     * @throws ThreadAbandoned if the watchdog gave up on the call meanwhile: unwind, touching nothing shared
     */
    public void exit(int outcome) {
        KernelRegistration r = callee;
        if (saved == 0 && watchdog.now == since) {
            // Returned within the tick it started in: the watchdog cannot have abandoned it.
            CALLEE.setOpaque(this, null);
            STATE.setOpaque(this, IDLE);
            r.count(id, outcome);
            if (timing) endTiming(r);
            return;
        }
        slowExit(r, outcome);
    }

    /**
     * The callback of the call opened last threw {@code t} (or {@link #enter} refused it): closes the frame if one
     * was opened. The caller then counts the fault ({@link KernelRegistration#countFault}), which ignores
     * {@link #REFUSED}.
     * @throws ThreadAbandoned rethrown as it is, or if the watchdog gave up on the call meanwhile
     */
    public void threw(Throwable t) {
        if (t instanceof ThreadAbandoned a) throw a;
        if (t == REFUSED) return;
        slowExit(callee, THREW);
    }

    private void slowExit(KernelRegistration r, int outcome) {
        long s = (long) STATE.getOpaque(this);
        long started = since;
        int n = saved;
        long outer = n > 0 ? savedIds[n - 1] : IDLE;
        if (n == 0) CALLEE.setOpaque(this, null); // the watchdog reads the state first, then the callee
        if (s == ABANDONED || !STATE.compareAndSet(this, s, outer)) throw watchdog.abandoned(this, r);
        if (n > 0) pop();
        r.count(id, outcome);
        if (timing && n == 0) endTiming(r);
        long took = watchdog.now - started;
        if (took > watchdog.limits().soft(r.head) && !r.owner().isKernel()) {
            stats.inc(Stat.NKE_OVER_BUDGET);
            r.overBudget(took, watchdog);
        }
    }

    private void push(long s) {
        int n = saved;
        if (n == savedIds.length) {
            savedIds = Arrays.copyOf(savedIds, 2 * n);
            savedSinces = Arrays.copyOf(savedSinces, 2 * n);
            savedCallees = Arrays.copyOf(savedCallees, 2 * n);
        }
        savedIds[n] = s;
        savedSinces[n] = since;
        savedCallees[n] = callee;
        SAVED.setOpaque(this, n + 1);
    }

    /** Restores the outer frame saved last (its since and callee; the caller restores its state). */
    private void pop() {
        int n = saved - 1;
        since = savedSinces[n];
        CALLEE.setOpaque(this, savedCallees[n]);
        savedCallees[n] = null;
        SAVED.setOpaque(this, n);
    }

    private void startTiming(KernelRegistration r) {
        if (r.head.packetPath()) {
            int x = random; // xorshift: the gap to the next timed call, uniform in 1 .. 2 * SAMPLE_MEAN - 1
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            random = x;
            countdown = 1 + (x >>> 1) % (2 * SAMPLE_MEAN - 1);
            timingWeight = SAMPLE_MEAN;
        } else {
            timingWeight = 1;
        }
        timing = true;
        timingStart = System.nanoTime();
    }

    private void endTiming(KernelRegistration r) {
        timing = false;
        r.addNanos(id, (System.nanoTime() - timingStart) * timingWeight);
    }

    // ---- for the watchdog ----

    long stateOpaque() { return (long) STATE.getAcquire(this); }

    KernelRegistration calleeOpaque() { return (KernelRegistration) CALLEE.getOpaque(this); }

    /** The outermost call's id, or the innermost's when there is one frame. */
    long rootId(long innermost) {
        int n = (int) SAVED.getOpaque(this);
        long[] ids = savedIds;
        return n > 0 && ids.length > 0 ? ids[0] : innermost;
    }

    KernelRegistration rootCallee(KernelRegistration innermost) {
        int n = (int) SAVED.getOpaque(this);
        KernelRegistration[] c = savedCallees;
        KernelRegistration r = n > 0 && c.length > 0 ? c[0] : null;
        return r != null ? r : innermost;
    }

    /** Swaps call {@code id} for {@link #ABANDONED}; false if the thread moved on. */
    boolean abandon(long id) { return STATE.compareAndSet(this, id, ABANDONED); }

    /** Abandons the slot whatever its state (its context retires while stuck). */
    void abandonNow() { STATE.setVolatile(this, ABANDONED); }

    @Override public String toString() { return "call slot " + id; }
}
