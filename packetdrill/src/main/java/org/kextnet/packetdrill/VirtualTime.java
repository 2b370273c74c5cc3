package org.kextnet.packetdrill;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The kernel's time as packetdrill sees it, and who may run the kernel when.
 *
 * <p><b>Time moves only when packetdrill waits.</b> {@code usleep} moves the clock, running the kernel's timers
 * on the way; {@code netdev_receive} with nothing sent moves it to the kernel's next timer, again and again,
 * until the stack sends something or {@code max_wait} of virtual time has passed; a blocking call on
 * packetdrill's main thread does the same until it can complete. packetdrill also spins on
 * {@code gettimeofday} (before its first event, and for waits under 20 µs), which on a clock that stands still
 * would never end: a clock read that directly follows another read of the main thread moves the clock by
 * {@link #SPIN_NANOS}. Nothing depends on the real time a call takes, so a script's run is the same every time.
 *
 * <p><b>One actor at a time.</b> packetdrill's main thread (the <i>driver</i>, the thread that loaded the shim)
 * sends and sniffs packets and moves time; its system-call thread runs the calls a script marks as blocking.
 * Each call holds this object's lock while it runs the kernel, so the kernel sees one of them at a time. A
 * blocking call of the other thread parks, releasing the lock; whatever may make it ready (a packet in, a
 * step of the clock, another call) wakes it, and the driver does nothing more until every woken call has run
 * (completed or parked again): a packet that makes a {@code read} ready is read at the time it came, never
 * after a clock step the driver happened to take first. A call that ends on the other thread leaves its
 * end time for that thread's next clock read, which is how packetdrill times the end of a blocking call.
 *
 * <p>Threads of the JVM that run kernel code on their own (the loopback interface's reader, extension
 * callouts) are outside this discipline; packetdrill's scripts do not involve them.
 */
final class VirtualTime {
    /** What a clock read that follows a clock read costs: packetdrill's spin loops end. */
    static final long SPIN_NANOS = 1_000;
    /** A fixed epoch for {@code gettimeofday}: virtual time 0 is 2023-11-14 22:13:20 UTC, on every run. */
    static final long EPOCH_MICROS = 1_700_000_000L * 1_000_000L;
    /** Real time the driver waits for a call of another thread to finish with the kernel before giving up. */
    static final long BUSY_LIMIT_SECONDS = 60;
    /** Real time a parked call waits for anything to happen before giving up. */
    static final long PARK_LIMIT_SECONDS = 600;
    /** Real time the driver waits for another thread to start the call it is waiting to make. */
    static final long START_LIMIT_SECONDS = 5;

    /** A blocking call on packetdrill's main thread that nothing in the kernel can ever complete. */
    static final class Stalled extends RuntimeException {
        Stalled(String message) { super(message, null, false, false); }
    }

    /** A parked call of another thread: its timeout, and whether it has been woken and not run since. */
    private static final class Waiter {
        final long deadline;
        boolean woken;

        Waiter(long deadline) { this.deadline = deadline; }
    }

    private final ShimKernel kernel;
    private final long maxWaitNanos;
    private final PrintStream log;
    private final boolean verbose;
    private final Thread driver;
    private final ReentrantLock lock = new ReentrantLock();
    /** Parked calls wait on it; signalled by {@link #wakeAll}. */
    private final Condition wake = lock.newCondition();
    /** The driver waits on it for every woken call to have run. */
    private final Condition settled = lock.newCondition();
    /**
     * Another thread is on its way to a call: packetdrill's system-call thread waits for a blocking call's start
     * time itself (usleep, then spinning on the clock) while its main thread goes on. Until the call starts, the
     * driver neither moves time nor concludes that nothing will leave the stack: the call may be what sends.
     */
    private boolean otherStarting;
    /** Signalled when another thread's call starts. */
    private final Condition started = lock.newCondition();
    /** Consecutive clock reads of a non-driver thread that found the clock where it left it. */
    private final ThreadLocal<int[]> spins = ThreadLocal.withInitial(() -> new int[1]);
    private final List<Waiter> waiters = new ArrayList<>();
    private int woken;
    /** Operations of the driver other than clock reads; a read that sees the same count as the last read spins. */
    private long driverOps;
    private long driverOpsAtLastRead = -1;
    /** Calls another thread (packetdrill's system-call thread) has begun; {@link #started} is signalled at each. */
    private long otherCalls;
    /** How long (real time) netdev_receive waits for a blocking call packetdrill has handed its thread but not begun. */
    private static final long LATE_CALL_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** The end time of the last call of a non-driver thread, for its next clock read. */
    private final ThreadLocal<long[]> endTime = new ThreadLocal<>();
    /** The time a non-driver thread last read: reading it again means the thread spins, waiting for time to pass. */
    private final ThreadLocal<Long> lastRead = new ThreadLocal<>();

    /**
     * @param log where the shim's diagnostics go (stderr); null to stay silent
     * @param verbose whether to log every packet in and out with its virtual time
     */
    VirtualTime(ShimKernel kernel, long maxWaitNanos, PrintStream log, boolean verbose, Thread driver) {
        this.kernel = kernel;
        this.maxWaitNanos = maxWaitNanos;
        this.log = log;
        this.verbose = verbose && log != null;
        this.driver = driver;
    }

    boolean onDriver() { return Thread.currentThread() == driver; }

    /** The kernel's time in nanoseconds. Callers hold the lock, or accept a racy read. */
    long now() { return kernel.now(); }

    // ---- entry points ----

    /**
     * Runs one socket call with the kernel to itself and returns its result. On the driver, after every woken
     * call of the other thread has run; on another thread, the call's end time is kept for its next clock read.
     * Afterwards parked calls are woken: the call may have changed what they wait for.
     */
    int call(IntSupplier op) {
        boolean onDriver = acquire();
        try {
            if (!onDriver) {
                spins.get()[0] = 0;
                otherCalls++;
                otherStarting = false;
                started.signalAll();
            }
            int r = op.getAsInt();
            wakeAll();
            return r;
        } finally {
            if (!onDriver) endTime.set(new long[] {kernel.now()});
            lock.unlock();
        }
    }

    /**
     * {@code gettimeofday}: the virtual time in microseconds since {@link #EPOCH_MICROS}'s epoch. On the driver a
     * read that follows a read moves the clock by {@link #SPIN_NANOS}; on another thread the first read after a
     * call gives that call's end time, and a read that would give the same time as that thread's last read moves the
     * clock by {@link #SPIN_NANOS}: packetdrill's system-call thread waits for a blocking call's start time itself
     * (with {@code usleep}, then spinning), while its main thread waits for it.
     */
    long readClockMicros() {
        if (!onDriver()) {
            long[] end = endTime.get();
            if (end != null) {
                endTime.remove();
                lastRead.set(end[0]);
                return micros(end[0]);
            }
            long now = kernel.now(); // the clock is volatile: another thread's read needs no lock
            Long last = lastRead.get();
            int[] spun = spins.get();
            if (last != null && last == now) { // spinning: packetdrill waits on this thread for a call's start time
                lockBounded();
                try {
                    if (++spun[0] >= 2) otherStarting = true; // one repeated read is end_syscall's verbose print
                    step(Math.min(kernel.now() + SPIN_NANOS, nextEvent()));
                    now = kernel.now();
                } finally {
                    lock.unlock();
                }
            } else {
                spun[0] = 0;
            }
            lastRead.set(now);
            return micros(now);
        }
        acquireDriver();
        try {
            if (driverOps == driverOpsAtLastRead) step(Math.min(kernel.now() + SPIN_NANOS, nextEvent()));
            driverOpsAtLastRead = driverOps;
            return micros(kernel.now());
        } finally {
            lock.unlock();
        }
    }

    /** {@code usleep} on the driver: moves the clock by {@code nanos}, stopping at every timer and timeout on the way. */
    void sleep(long nanos) {
        acquireDriver();
        boolean onDriver = onDriver();
        if (onDriver) driverOps++;
        else otherStarting = true; // the system-call thread waits for its call's start time
        try {
            long target = kernel.now() + Math.max(0, nanos);
            while (kernel.now() < target) {
                settle();
                if (onDriver) awaitStart();
                step(Math.min(target, nextEvent()));
            }
            settle();
        } finally {
            lock.unlock();
        }
    }

    /** {@code netdev_send} on the driver: a packet into the stack. @return 0 or a Linux errno */
    int inject(byte[] packet) {
        acquireDriver();
        driverOps++;
        try {
            if (verbose) say(seconds(kernel.now()) + " in:  " + PacketText.describe(packet));
            int r = kernel.inject(packet);
            wakeAll();
            return r;
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@code netdev_receive} on the driver: the next frame the stack sent, moving the clock from timer to timer
     * while there is none. Returns null (and says why on the log) when no timer is pending or {@code max_wait}
     * of virtual time passed without one: packetdrill then fails the script at the packet it expected.
     */
    ShimKernel.Frame receive() {
        acquireDriver();
        driverOps++;
        try {
            long start = kernel.now();
            while (true) {
                settle();
                awaitStart();
                ShimKernel.Frame f = kernel.takeSent();
                if (f != null) {
                    if (verbose) say(seconds(f.nanos()) + " out: " + PacketText.describe(f.data()));
                    return f;
                }
                long next = nextEvent();
                if (next == Long.MAX_VALUE && awaitLateCall()) continue; // a blocking call's thread was still on its way
                if (next == Long.MAX_VALUE || next - start > maxWaitNanos) {
                    say("netdev_receive: nothing left the stack " + (next == Long.MAX_VALUE
                            ? "and no kernel timer is pending at " + seconds(kernel.now())
                            : "within max_wait=" + maxWaitNanos / 1_000_000_000L + " s of virtual time (" + seconds(start)
                              + " to " + seconds(start + maxWaitNanos) + ")")
                            + "; returning an empty packet, so that the script fails at the packet it expected");
                    if (next != Long.MAX_VALUE && kernel.now() < start + maxWaitNanos) step(start + maxWaitNanos);
                    return null;
                }
                step(next);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits, inside a {@link #call}, until {@code ready} holds or the virtual time reaches {@code deadline}
     * ({@link Long#MAX_VALUE}: no timeout). On another thread the call parks until something happens; on the
     * driver, nothing else can happen, so it moves the clock itself from timer to timer.
     *
     * @return true if ready, false if the deadline passed
     * @throws Stalled on the driver, when no timer is pending or {@code max_wait} passed: the call would block forever
     */
    boolean await(BooleanSupplier ready, long deadline, String what) {
        return onDriver() ? drive(ready, deadline, what) : park(ready, deadline, what);
    }

    /** Whether a call of another thread is parked and not yet woken (tests wait for it, as packetdrill waits for its thread to sleep). */
    boolean hasParkedCalls() {
        lockBounded();
        try {
            for (Waiter w : waiters) if (!w.woken) return true;
            return false;
        } finally {
            lock.unlock();
        }
    }

    // ---- the discipline ----

    /** Takes the lock; on the driver, also waits for every woken call to have run. @return whether on the driver */
    private boolean acquire() {
        if (onDriver()) {
            acquireDriver();
            driverOps++;
            return true;
        }
        lockBounded();
        return false;
    }

    private void acquireDriver() {
        lockBounded();
        try {
            settle();
        } catch (RuntimeException e) {
            lock.unlock();
            throw e;
        }
    }

    private void lockBounded() {
        try {
            if (!lock.tryLock(BUSY_LIMIT_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the kernel was busy with another thread's call for " + BUSY_LIMIT_SECONDS + " s (real time)");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the kernel", e);
        }
    }

    /** On the driver, with the lock: returns once every woken call has run (the lock is released meanwhile). */
    private void settle() {
        long left = TimeUnit.SECONDS.toNanos(BUSY_LIMIT_SECONDS);
        while (woken > 0) {
            if (left <= 0) throw new IllegalStateException("a woken call of another thread did not run within " + BUSY_LIMIT_SECONDS + " s (real time)");
            try {
                left = settled.awaitNanos(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for another thread's call", e);
            }
        }
    }

    /**
     * On the driver, with the lock: returns once no other thread is on its way to a call (the lock is released
     * meanwhile), or after {@link #START_LIMIT_SECONDS} of real time (then it says so and goes on).
     */
    /**
     * Nothing left the stack and no timer is pending: packetdrill may have handed a blocking call (a connect at +0)
     * to its system-call thread that has not begun it yet. Waits a bounded real time for another thread's call to
     * begin. @return whether one began (the caller looks again)
     */
    private boolean awaitLateCall() {
        long calls = otherCalls, left = LATE_CALL_NANOS;
        try {
            while (otherCalls == calls && left > 0) left = started.awaitNanos(left);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for another thread's call", e);
        }
        return otherCalls != calls;
    }

    private void awaitStart() {
        long left = TimeUnit.SECONDS.toNanos(START_LIMIT_SECONDS);
        while (otherStarting) {
            if (left <= 0) {
                say("packetdrill's system-call thread waited for a call's start time and made none within "
                        + START_LIMIT_SECONDS + " s (real time); the clock moves on");
                otherStarting = false;
                return;
            }
            try {
                left = started.awaitNanos(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for another thread's call", e);
            }
        }
    }

    /** Wakes every parked call: whatever just happened may be what it waits for. */
    private void wakeAll() {
        boolean any = false;
        for (Waiter w : waiters) {
            if (!w.woken) {
                w.woken = true;
                woken++;
                any = true;
            }
        }
        if (any) wake.signalAll();
    }

    /** The clock's next stop: the kernel's next timer or the earliest timeout of a parked call. */
    private long nextEvent() {
        long next = kernel.nextDeadline();
        for (Waiter w : waiters) if (!w.woken) next = Math.min(next, w.deadline);
        return next;
    }

    /** Moves the clock to {@code nanos} (at least a nanosecond on), running timers, and wakes the parked calls. */
    private void step(long nanos) {
        kernel.advanceTo(Math.max(nanos, kernel.now() + 1));
        wakeAll();
    }

    private boolean drive(BooleanSupplier ready, long deadline, String what) {
        long start = kernel.now();
        while (true) {
            settle();
            awaitStart();
            if (ready.getAsBoolean()) return true;
            if (kernel.now() >= deadline) return false;
            long next = Math.min(nextEvent(), deadline);
            if (next == Long.MAX_VALUE || next - start > maxWaitNanos) {
                String why = what + " on packetdrill's main thread would block forever: "
                        + (next == Long.MAX_VALUE ? "no kernel timer is pending" : "nothing completed it within max_wait="
                           + maxWaitNanos / 1_000_000_000L + " s of virtual time")
                        + " (only packetdrill's main thread sends packets; mark the call blocking in the script, e.g. "
                        + "'0...0.1 read(...)', to run it on packetdrill's system-call thread); failing it with EINTR";
                say(why);
                throw new Stalled(why);
            }
            step(next);
        }
    }

    private boolean park(BooleanSupplier ready, long deadline, String what) {
        while (true) {
            if (ready.getAsBoolean()) return true;
            if (kernel.now() >= deadline) return false;
            Waiter w = new Waiter(deadline);
            waiters.add(w);
            try {
                long left = TimeUnit.SECONDS.toNanos(PARK_LIMIT_SECONDS);
                while (!w.woken) {
                    if (left <= 0) throw new Stalled(what + " waited " + PARK_LIMIT_SECONDS + " s of real time and nothing happened");
                    left = wake.awaitNanos(left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Stalled(what + " was interrupted");
            } finally {
                waiters.remove(w);
                if (w.woken && --woken == 0) settled.signalAll();
            }
        }
    }

    // ---- diagnostics ----

    private static long micros(long nanos) { return EPOCH_MICROS + Math.floorDiv(nanos, 1000); }

    static String seconds(long nanos) { return String.format(Locale.ROOT, "%.6f s", nanos / 1e9); }

    void say(String message) {
        if (log != null) log.println("kextnet-packetdrill: " + message);
    }
}
