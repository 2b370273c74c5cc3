package org.kextnet.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.sync.ManualClock;

/**
 * The kernels of one test and the wires that join them: an {@link EmbeddedKernel} alone, or with the peers it made
 * ({@link EmbeddedKernel#peer}). Every wire is in poll mode, so frames move only when the test's thread moves them:
 * {@link #runPending} runs each kernel's waiting frames and carries what one kernel sent across to the other until
 * nothing is left; {@link #advanceTime} moves the one clock they share; {@link #await} is how the test kit's blocking
 * calls wait, doing both.
 */
final class KernelGroup {
    /** How long a wait on the system clock parks between two looks (frames from timer threads wait in the rings). */
    private static final long PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

    /**
     * A link of one kernel whose far end is another kernel's: frames taken from one far end are put on the other
     * wire towards its kernel. (Each kernel keeps its own wire, so a kernel alone is exactly as before.)
     */
    private record Bridge(MemoryWire left, MemoryWire right) {
        int carry() {
            return move(left, right) + move(right, left);
        }

        /** What {@code from}'s kernel sent, to {@code to}'s kernel; a full ring drops the frame as a full NIC would. */
        private static int move(MemoryWire from, MemoryWire to) {
            int n = 0;
            Packet m;
            while ((m = from.b().take()) != null) {
                to.a().inject(m); // takes ownership, frees it if the ring is full
                n++;
            }
            return n;
        }
    }

    private final List<KernelHarness> kernels = new ArrayList<>();
    private final List<Bridge> bridges = new ArrayList<>();
    /** The clock every kernel of the group reads, or null for the system clock. */
    private final ManualClock clock;
    private boolean closed;

    KernelGroup(KernelHarness first, ManualClock clock) {
        this.clock = clock;
        kernels.add(first);
    }

    ManualClock clock() { return clock; }

    boolean manual() { return clock != null; }

    /** Adds {@code peer}, whose link {@code right} is the far end of {@code left} (a link of a kernel of the group). */
    synchronized void join(KernelHarness peer, MemoryWire left, MemoryWire right) {
        kernels.add(peer);
        bridges.add(new Bridge(left, right));
    }

    synchronized boolean joined() { return !bridges.isEmpty(); }

    /**
     * Runs every kernel's waiting frames and carries frames across the wires between them until none is left.
     * @return how many frames were processed or carried
     */
    synchronized int runPending() {
        int total = 0;
        int n;
        do {
            n = 0;
            for (KernelHarness k : kernels) n += k.runPending();
            for (Bridge b : bridges) n += b.carry();
            total += n;
        } while (n > 0);
        return total;
    }

    /**
     * Moves the manual clock by {@code nanos}. A kernel alone runs its timeouts as {@link KernelHarness#advanceTime}
     * does; joined kernels move together from one timeout to the next, running the frames in flight after each, so
     * that what a timer of one sends reaches the other before the other's later timers run.
     */
    synchronized void advanceTime(long nanos) {
        if (clock == null) throw new IllegalStateException("the kernel runs on the system clock: build it with manualClock()");
        if (!joined()) {
            kernels.getFirst().advanceTime(nanos, TimeUnit.NANOSECONDS);
            return;
        }
        advanceTo(clock.nanoTime() + nanos);
    }

    private void advanceTo(long end) {
        runPending();
        while (true) {
            long next = nextExpiry();
            if (next == Long.MAX_VALUE || next - end > 0) break;
            step(next);
        }
        step(end);
    }

    /** Moves every kernel to {@code time} (the first moves the shared clock; the rest run what is due), then the frames. */
    private void step(long time) {
        long d = Math.max(0, time - clock.nanoTime());
        kernels.getFirst().advanceTime(d, TimeUnit.NANOSECONDS);
        for (int i = 1; i < kernels.size(); i++) kernels.get(i).advanceTime(0, TimeUnit.NANOSECONDS);
        runPending();
    }

    private long nextExpiry() {
        long next = Long.MAX_VALUE;
        for (KernelHarness k : kernels) next = Math.min(next, k.kernel().timers().nextExpiry());
        return next;
    }

    /** The group's time: the manual clock's, or the system's. */
    long now() { return clock != null ? clock.nanoTime() : System.nanoTime(); }

    /**
     * Waits until {@code ready} holds, for up to {@code timeoutNanos} of the group's time, running the pending frames
     * before each look. On the system clock it parks between looks (timer threads keep running). On a manual clock
     * nothing else moves: when no frame is left it moves the clock to the next timeout, and when none falls within
     * the time left it waits for the final callbacks already requested (they run after a grace period, on the
     * kernel's reclaim thread), looks again, and then lets the whole timeout pass and looks a last time.
     * @return whether {@code ready} held
     */
    boolean await(BooleanSupplier ready, long timeoutNanos) {
        long deadline = now() + Math.max(0, timeoutNanos);
        while (true) {
            int moved = runPending();
            if (ready.getAsBoolean()) return true;
            if (moved > 0) continue;
            if (clock == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                LockSupport.parkNanos(Math.min(left, PARK_NANOS));
                continue;
            }
            synchronized (this) {
                long next = nextExpiry();
                if (next == Long.MAX_VALUE || next - deadline > 0) {
                    // Final callbacks (detach and the like) run on each kernel's reclaim thread after a grace period:
                    // let them run before deciding that nothing more will happen.
                    for (KernelHarness k : kernels) k.awaitDetached();
                    runPending();
                    if (ready.getAsBoolean()) return true;
                    if (deadline - clock.nanoTime() > 0) advanceTo(deadline);
                    return ready.getAsBoolean();
                }
                advanceTo(next);
            }
        }
    }

    /** Closes every kernel of the group, the peers first; idempotent. */
    synchronized void close() {
        if (closed) return;
        closed = true;
        for (int i = kernels.size() - 1; i >= 0; i--) kernels.get(i).close();
    }
}
