package org.kextnet.kernel.hook;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.StatCells;
import org.kextnet.kernel.sync.ThreadAbandoned;

/**
 * What one thread is calling in extensions now: the kernel's side of "every call into an extension is timed".
 * Every packet context has one ({@code net.PacketContext}). A head that calls a chain of filters for a packet
 * brackets the chain with {@link #walkIn} and {@link #walkOut} and each call with {@link #call} and
 * {@link #returned} (or {@link #threw}); a single call elsewhere uses {@link #enter} and {@link #exit}. Per call
 * that costs a plain store, a counter increment and one read of the {@link Watchdog}'s coarse clock: no system
 * call, no allocation, no atomic operation on the common path.
 *
 * <p>The walk in progress is published as a state word: {@link #IDLE}, or the walk's id (a per-slot serial
 * number), and the registration being called. The watchdog reads them at every tick; when the same walk has been
 * in the same registration past its head's hard limit, the watchdog swaps the id for {@link #ABANDONED} with one
 * CAS. The thread finds out whether that happened without an atomic operation in the common case: a call that
 * returns within the tick its walk started in (or its last slow call ended in) cannot have been abandoned (the
 * hard limit spans hundreds of ticks); a call that took longer claims a fresh id with a CAS, and if the watchdog
 * won, the thread unwinds with {@link ThreadAbandoned} before it calls anything else and touches nothing its
 * replacement now owns. (The one interleaving this does not cover is a thread preempted for longer than the hard
 * limit between reading the clock and the store that ends its walk; the packet context's section handshake still
 * keeps such a thread off the grace periods and its queue.)
 *
 * <p>Walks nest (a filter that injects a packet runs the chain again on its own thread): the outer frame is saved
 * and restored, and the watchdog watches both the innermost walk and the outermost one.
 *
 * <p>Each call is counted against its registration in this slot's counts ({@link KernelRegistration#counters()}):
 * a plain increment by the owning thread, at the registration's place in an array the slot holds. Its time is measured with {@link System#nanoTime()} on about one walk in
 * {@value #SAMPLE_MEAN} of a packet head (and scaled) once the thread has timed its first {@value #EXACT_WALKS} walks
 * exactly, and on every call of the other heads.
 */
public final class CallSlot {
    /** Outcomes of a call, counted per registration: a callback without a verdict, and a packet's fate. */
    public static final int OTHER = 0, PASSED = 1, SWALLOWED = 2, DROPPED = 3, THREW = 4;
    static final int NANOS = 5, ROW = 8;
    /** The state of a slot with no call in progress, and of one the watchdog gave up on. */
    public static final long IDLE = 0, ABANDONED = -1;
    /** Mean distance between timed walks on a packet head, in walks (spread at random, so nothing aliases with it). */
    public static final int SAMPLE_MEAN = 64;
    /** How many walks of a packet head each thread times exactly before it samples (see {@link #exactWalks}). */
    public static final int EXACT_WALKS = 16 * SAMPLE_MEAN;
    /** What {@link #walkIn} returns for a timed walk: it never equals the clock, so every call takes the slow path. */
    private static final long TIMED = Long.MIN_VALUE;

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

    private static final VarHandle STATE, CALLEE, SAVED, THREAD, COUNTS;
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            COUNTS = l.findVarHandle(CallSlot.class, "counts", long[].class);
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

    /**
     * This thread's counts of calls into every registration, {@link #ROW} cells from each registration's
     * {@link KernelRegistration#cell}: plain increments by the owning thread, which grows the array by copying it;
     * read opaquely by the watchdog, which sums every slot's ({@link Watchdog#count}).
     */
    private long[] counts = new long[0];

    // The walk in progress (the innermost). Written by the owning thread; state and callee read by the watchdog.
    private long state;
    private KernelRegistration callee;
    /** The watchdog's coarse time when the walk started, or its last slow call ended. */
    private long since;
    private long serial;
    // Outer frames of nested walks, saved[0] the outermost.
    private int saved;
    private long[] savedIds = new long[4], savedSinces = new long[4];
    private KernelRegistration[] savedCallees = new KernelRegistration[4];
    private boolean[] savedTimed = new boolean[4];
    // Timing: a countdown to the next timed walk of a packet head, and where the timed walk's last call ended.
    private int countdown = 1;
    /**
     * Walks of a packet head still timed exactly, each with weight 1, before sampling starts: a thread's first calls
     * (class loading, the compiler, a registration called a handful of times at start) would otherwise be one sample
     * scaled by {@value #SAMPLE_MEAN}, and a registration called once could show a minute for a call of a second.
     */
    private int exactWalks = EXACT_WALKS;
    private int random;
    private long timingStamp;
    private long timingWeight;
    /** Whether the single call in progress ({@link #enter}) is timed. */
    private boolean timed;
    private Thread thread;
    /** The registration whose call the watchdog gave up on (for the message the thread unwinds with). */
    volatile KernelRegistration blamed;

    // The watchdog's own records (its thread only): the innermost and the outermost walk it saw, and for how
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

    /** The slot's number (watchdog bookkeeping; an abandoned slot's is never reused). */
    public int id() { return id; }

    /** Binds the slot to the thread that uses it now (a leased context moves between threads), or null. */
    public void bind(Thread t) { THREAD.setOpaque(this, t); }

    /** The thread using the slot, or null. */
    public Thread thread() { return (Thread) THREAD.getOpaque(this); }

    /** What this slot's thread throws once it finds out the watchdog abandoned it. */
    public ThreadAbandoned abandonedError() { return watchdog.abandoned(this, null); }

    /** Whether the watchdog abandoned this slot's thread. */
    public boolean isAbandoned() { return (long) STATE.getOpaque(this) == ABANDONED; }

    // ---- a chain of calls (a packet head's filters) ----

    /**
     * A walk over a chain of calls starts (call it before the first). Pair it with {@link #walkOut} on every way
     * out but {@link ThreadAbandoned}.
     * @param packetPath whether the calls are a packet head's, whose time is measured on a sample of the walks
     * @return the walk's token, to pass to {@link #returned}, {@link #threw} and {@link #walkOut}, which return
     *         the next one
     * @throws ThreadAbandoned if the watchdog abandoned this thread
     */
    public long walkIn(boolean packetPath) {
        long s = (long) STATE.getOpaque(this);
        long id = ++serial;
        long t = watchdog.coarse();
        if (s != IDLE) {
            if (s == ABANDONED) throw watchdog.abandoned(this, null);
            push(s);
            since = t;
            if (!STATE.compareAndSet(this, s, id)) throw watchdog.abandoned(this, null); // the watchdog took the outer walk
            return t; // a nested walk is not timed: the outer one is, or is not
        }
        since = t;
        STATE.setRelease(this, id); // no CAS: the watchdog only ever swaps a walk's id, never IDLE
        if (!packetPath || --countdown <= 0) return startTiming(packetPath);
        return t;
    }

    /**
     * A call into {@code r} starts now: the watchdog sees it as the walk's callee.
     * @throws Refused if {@code r}'s extension is stuck: nothing is called, the caller treats it as a fault
     */
    public void call(KernelRegistration r) {
        if (r.silenced) throw REFUSED;
        CALLEE.setOpaque(this, r);
    }

    /**
     * The call into {@code r} returned {@code errno} as a packet's verdict: 0 passed, EJUSTRETURN swallowed, else
     * dropped. Counted against {@code r}.
     * @return the walk's next token
     * @throws ThreadAbandoned if the watchdog gave up on the call meanwhile: unwind, touching nothing shared
     */
    public long returned(KernelRegistration r, int errno, long token) {
        int outcome = errno == 0 ? PASSED : errno == JUSTRETURN ? SWALLOWED : DROPPED;
        count(r, outcome);
        return watchdog.coarse() == token ? token : slowReturn(r, token);
    }

    private static final int JUSTRETURN = org.kextnet.kpi.Errno.EJUSTRETURN;

    /** The call into {@code r} returned with no packet verdict; as {@link #returned(KernelRegistration, int, long)}. */
    public long returned(KernelRegistration r, long token) {
        count(r, OTHER);
        return watchdog.coarse() == token ? token : slowReturn(r, token);
    }

    /**
     * The call of the walk threw {@code t}, or {@link #call} refused it: counts a throw (the caller then counts the
     * fault with {@link KernelRegistration#countFault}, which ignores {@link #REFUSED}).
     * @return the walk's next token
     * @throws ThreadAbandoned rethrown as it is, or if the watchdog gave up on the call meanwhile
     */
    public long threw(Throwable t, long token) {
        if (t instanceof ThreadAbandoned a) throw a;
        if (t == REFUSED) return token;
        KernelRegistration r = callee;
        count(r, THREW);
        return slowReturn(r, token);
    }

    /**
     * A call returned in a later tick than its walk's last (or the walk is timed): claims a fresh id for the walk
     * with a CAS, so that the watchdog can no longer abandon what already returned, counts a call over its
     * budget, and times the call in a timed walk.
     */
    private long slowReturn(KernelRegistration r, long token) {
        long s = (long) STATE.getOpaque(this);
        if (s == ABANDONED || !STATE.compareAndSet(this, s, ++serial)) throw watchdog.abandoned(this, r);
        long now = watchdog.coarse();
        long took = now - since;
        since = now;
        if (took > watchdog.limits().soft(r.head) && !r.owner().isKernel()) {
            stats.inc(Stat.NKE_OVER_BUDGET);
            r.overBudget(took, watchdog);
        }
        if (token != TIMED) return now;
        long stamp = System.nanoTime();
        add(r.cell + NANOS, (stamp - timingStamp) * timingWeight);
        timingStamp = stamp;
        return TIMED;
    }

    /**
     * The walk ends.
     * @throws ThreadAbandoned if the watchdog gave up on it meanwhile
     */
    public void walkOut(long token) {
        CALLEE.setOpaque(this, null);
        if (saved == 0 && watchdog.coarse() == token) {
            STATE.setOpaque(this, IDLE);
            return;
        }
        slowOut();
    }

    private void slowOut() {
        long s = (long) STATE.getOpaque(this);
        int n = saved;
        long outer = n > 0 ? savedIds[n - 1] : IDLE;
        if (s == ABANDONED || !STATE.compareAndSet(this, s, outer)) throw watchdog.abandoned(this, null);
        if (n > 0) pop();
    }

    // ---- a single call ----

    /**
     * A single call into {@code r} starts (a walk of one call). Pair it with {@link #exit} when the callback
     * returns, or {@link #threw} when it throws.
     * @throws Refused if {@code r}'s extension is stuck (nothing is opened)
     * @throws ThreadAbandoned if the watchdog abandoned this thread (nothing is opened)
     */
    public void enter(KernelRegistration r) {
        if (r.silenced) throw REFUSED;
        timed = walkIn(r.head.packetPath()) == TIMED;
        CALLEE.setOpaque(this, r);
    }

    /** The single call opened last returned with no packet verdict. */
    public void exit() { exit(OTHER); }

    /** The single call opened last returned {@code errno} as a packet's verdict (see {@link #returned}). */
    public void exitVerdict(int errno) {
        exit(errno == 0 ? PASSED : errno == JUSTRETURN ? SWALLOWED : DROPPED);
    }

    /**
     * The single call opened last returned; {@code outcome} is {@link #OTHER} or a verdict.
     * @throws ThreadAbandoned if the watchdog gave up on the call meanwhile
     */
    public void exit(int outcome) {
        KernelRegistration r = callee;
        count(r, outcome);
        long token = timed ? TIMED : since;
        timed = false;
        if (watchdog.coarse() != token) slowReturn(r, token);
        walkOut(since);
    }

    /**
     * The single call opened last threw {@code t}, or {@link #enter} refused it: closes it (the caller then counts
     * the fault).
     * @throws ThreadAbandoned rethrown as it is, or if the watchdog gave up on the call meanwhile
     */
    public void threw(Throwable t) {
        if (t instanceof ThreadAbandoned a) throw a;
        if (t == REFUSED) return;
        long token = timed ? TIMED : since;
        timed = false;
        threw(t, token);
        walkOut(since);
    }

    private long startTiming(boolean packetPath) {
        if (packetPath && exactWalks > 0) {
            exactWalks--;
            countdown = 1;
            timingWeight = 1;
        } else if (packetPath) {
            int x = random; // xorshift: the gap to the next timed walk, uniform in 1 .. 2 * SAMPLE_MEAN - 1
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            random = x;
            countdown = 1 + (x >>> 1) % (2 * SAMPLE_MEAN - 1);
            timingWeight = SAMPLE_MEAN;
        } else {
            timingWeight = 1;
        }
        timingStamp = System.nanoTime();
        return TIMED;
    }

    private void push(long s) {
        int n = saved;
        if (n == savedIds.length) {
            savedIds = Arrays.copyOf(savedIds, 2 * n);
            savedSinces = Arrays.copyOf(savedSinces, 2 * n);
            savedCallees = Arrays.copyOf(savedCallees, 2 * n);
            savedTimed = Arrays.copyOf(savedTimed, 2 * n);
        }
        savedIds[n] = s;
        savedSinces[n] = since;
        savedCallees[n] = callee;
        savedTimed[n] = timed;
        SAVED.setOpaque(this, n + 1);
    }

    /** Restores the outer frame saved last (its since and callee; the caller restores its state). */
    private void pop() {
        int n = saved - 1;
        since = savedSinces[n];
        timed = savedTimed[n];
        CALLEE.setOpaque(this, savedCallees[n]);
        savedCallees[n] = null;
        SAVED.setOpaque(this, n);
    }

    // ---- counts ----

    private void count(KernelRegistration r, int outcome) {
        long[] c = counts;
        int k = r.cell + outcome;
        if (k < c.length) {
            c[k]++;
        } else {
            add(k, 1);
        }
    }

    private void add(int k, long n) {
        long[] c = counts;
        if (k >= c.length) {
            try {
                c = Arrays.copyOf(c, Math.max(k + ROW, 2 * c.length) / ROW * ROW);
            } catch (OutOfMemoryError e) {
                return; // a count lost rather than a packet thread failed
            }
            COUNTS.setRelease(this, c);
        }
        c[k] += n;
    }

    /** Cell {@code k} of this slot's counts, for a reader on another thread. */
    long countOpaque(int k) {
        long[] c = (long[]) COUNTS.getAcquire(this);
        return k < c.length ? (long) CELL.getOpaque(c, k) : 0;
    }

    /** Every cell of this slot's counts (a retiring slot's, folded by the watchdog). */
    long[] countsAcquire() { return (long[]) COUNTS.getAcquire(this); }

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

    @Override public String toString() { return "call slot " + id; }
}
