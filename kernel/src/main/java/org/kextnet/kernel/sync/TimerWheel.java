package org.kextnet.kernel.sync;

/**
 * A hashed timing wheel (Varghese and Lauck, 1987): the kernel's one timer facility, for ARP, reassembly,
 * extension callouts and TCP's retransmission, delayed-ACK, persist, keepalive and TIME_WAIT timers of
 * thousands of connections. Time is cut into ticks (1 ms by default); a timeout goes into the slot of its
 * deadline's tick modulo the wheel's size, in a doubly linked list, so {@link #schedule} and {@link #cancel}
 * are O(1) and allocate nothing. A deadline beyond one turn of the wheel stays in its slot until the turn in
 * which it is due (each entry keeps its absolute tick; BSD's callout wheel and Netty's timer do the same).
 *
 * <p>The wheel does not own a thread: whoever drives it calls {@link #advance} with the clock's time (the
 * kernel's timer thread, or a test with a {@link ManualClock}). Tasks run on that thread, one at a time, with
 * no lock held. Scheduling and cancelling are safe from any thread; they take the wheel's monitor briefly.
 * A timeout is never expired before its deadline, and at most one tick after it once {@code advance} is called
 * that late.
 */
public final class TimerWheel {
    /** The default tick: 1 ms, the granularity DESIGN.md asks for TCP's timers. */
    public static final long DEFAULT_TICK_NANOS = 1_000_000;
    /** The default number of slots: with 1 ms ticks, one turn is 4.096 s. */
    public static final int DEFAULT_SLOTS = 4096;

    private final Clock clock;
    private final long tickNanos;
    private final Timeout[] slots;
    private final int mask;
    /** The last tick whose slot has been expired; ticks are counted from {@link #origin}. */
    private long doneTick;
    private final long origin;
    private int scheduled;
    /**
     * Woken when a timeout is scheduled before {@link #driverWake}, so that a driver parked until then runs it in time.
     */
    private volatile Runnable onSchedule = () -> {};
    /**
     * When the driver will next call {@link #advance} of its own accord ({@link #sleepUntil}); a timeout due before
     * then wakes it, a later one does not (every connection arms timers, and waking a sleeping thread costs more than
     * the rest of a short connection's timer work). Until a driver says, every schedule wakes it. Guarded by this.
     */
    private long driverWake = Long.MAX_VALUE;

    public TimerWheel(Clock clock) {
        this(clock, DEFAULT_TICK_NANOS, DEFAULT_SLOTS);
    }

    /** @param slots a power of two */
    public TimerWheel(Clock clock, long tickNanos, int slots) {
        if (tickNanos <= 0 || slots <= 0 || Integer.bitCount(slots) != 1) {
            throw new IllegalArgumentException("tick " + tickNanos + " ns, " + slots + " slots (a power of two)");
        }
        this.clock = clock;
        this.tickNanos = tickNanos;
        this.slots = new Timeout[slots];
        this.mask = slots - 1;
        this.origin = clock.nanoTime();
        this.doneTick = 0;
    }

    public Clock clock() { return clock; }

    public long tickNanos() { return tickNanos; }

    /**
     * Called (with no lock held) after a {@link #schedule} whose deadline comes before the time the driver said it
     * sleeps until ({@link #sleepUntil}), or after every schedule while it said nothing: the driver's wake-up.
     */
    public void onSchedule(Runnable wake) { this.onSchedule = wake; }

    /**
     * The driver is about to sleep: returns the time to sleep until, the earliest deadline scheduled or
     * {@code latest} if that is sooner, and from now on wakes the driver ({@link #onSchedule}) only for a timeout due
     * before that time. Atomic with {@link #schedule}: a timeout scheduled just before is in the answer, one
     * scheduled just after is compared with it.
     */
    public synchronized long sleepUntil(long latest) {
        long wake = Math.min(nextDeadline(), latest);
        driverWake = wake;
        return wake;
    }

    /** Schedules {@code t} to expire {@code delayNanos} from now, moving it if it was scheduled. */
    public void scheduleAfter(Timeout t, long delayNanos) {
        schedule(t, clock.nanoTime() + Math.max(0, delayNanos));
    }

    /**
     * Schedules {@code t} to expire at {@code deadline} (nanoseconds on this wheel's clock), moving it if it
     * was scheduled (on this wheel). A deadline in the past expires at the next {@link #advance}.
     */
    public void schedule(Timeout t, long deadline) {
        boolean wake;
        synchronized (this) {
            if (t.wheel != null && t.wheel != this) throw new IllegalStateException("scheduled on another wheel");
            if (t.wheel == this) unlink(t);
            // The first tick whose start is at or after the deadline, so a timeout never fires early.
            long tick = Math.max(ceilDiv(deadline - origin, tickNanos), doneTick + 1);
            t.deadline = deadline;
            t.tick = tick;
            int i = (int) (tick & mask);
            Timeout head = slots[i];
            t.prev = null;
            t.next = head;
            if (head != null) head.prev = t;
            slots[i] = t;
            t.wheel = this;
            scheduled++;
            wake = deadline < driverWake;
            if (wake) driverWake = deadline; // a second timeout as early wakes nobody again
        }
        if (wake) onSchedule.run();
    }

    /** Cancels {@code t}; returns whether it was scheduled (false if it had expired or was never scheduled). */
    public boolean cancel(Timeout t) {
        synchronized (this) {
            if (t.wheel != this) return false;
            unlink(t);
            return true;
        }
    }

    private void unlink(Timeout t) {
        int i = (int) (t.tick & mask);
        if (t.prev != null) t.prev.next = t.next; else slots[i] = t.next;
        if (t.next != null) t.next.prev = t.prev;
        t.prev = t.next = null;
        t.wheel = null;
        scheduled--;
    }

    /** How many timeouts are scheduled. */
    public synchronized int size() { return scheduled; }

    /**
     * Expires every timeout due by {@code now}, in order of their ticks, running each task on this thread
     * with no lock held; a task that schedules a timeout due by {@code now} sees it run in the same call.
     * @return how many tasks ran
     */
    public int advance(long now) {
        long target = Math.floorDiv(now - origin, tickNanos);
        int ran = 0;
        while (true) {
            Timeout due = null;
            synchronized (this) {
                while (doneTick < target) {
                    if (scheduled == 0) {
                        doneTick = target; // nothing anywhere: skip the empty slots
                        break;
                    }
                    if (target - doneTick > slots.length) skipToEarliest(target);
                    long tick = doneTick + 1;
                    due = takeDue(tick);
                    if (due != null) break;
                    doneTick = tick;
                }
            }
            if (due == null) return ran;
            due.task.expired(due, now);
            ran++;
        }
    }

    /** A jump of more than a turn (a manual clock, a stalled driver): straight to the tick before the earliest timeout's. */
    private void skipToEarliest(long target) {
        long min = Long.MAX_VALUE;
        for (Timeout head : slots) for (Timeout t = head; t != null; t = t.next) min = Math.min(min, t.tick);
        if (min - 1 > doneTick) doneTick = Math.min(min - 1, target);
    }

    /** Unlinks and returns one timeout of slot {@code tick} due by that tick, or null. */
    private Timeout takeDue(long tick) {
        for (Timeout t = slots[(int) (tick & mask)]; t != null; t = t.next) {
            if (t.tick <= tick) {
                unlink(t);
                return t;
            }
        }
        return null;
    }

    /** Expires what is due by the clock's time now. */
    public int advance() { return advance(clock.nanoTime()); }

    /**
     * The earliest deadline of a scheduled timeout, or {@link Long#MAX_VALUE} when none is: a driver parks
     * until then, and packetdrill's shim moves its virtual clock there. O(slots + timeouts): for drivers, not
     * for the packet path.
     */
    public synchronized long nextDeadline() {
        if (scheduled == 0) return Long.MAX_VALUE;
        long min = Long.MAX_VALUE;
        for (Timeout head : slots) for (Timeout t = head; t != null; t = t.next) min = Math.min(min, t.deadline);
        return min;
    }

    /**
     * The earliest clock time at which {@link #advance} runs a scheduled timeout (its deadline rounded up to the start
     * of the tick that expires it), or {@link Long#MAX_VALUE} when none is scheduled: a driver on a manual clock moves
     * the clock there. O(slots + timeouts).
     */
    public synchronized long nextExpiry() {
        if (scheduled == 0) return Long.MAX_VALUE;
        long min = Long.MAX_VALUE;
        for (Timeout head : slots) for (Timeout t = head; t != null; t = t.next) min = Math.min(min, t.tick);
        return origin + min * tickNanos;
    }

    private static long ceilDiv(long a, long b) { return -Math.floorDiv(-a, b); }
}
