package org.kextnet.kernel.link;

import java.util.concurrent.locks.LockSupport;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.TxClaim;
import org.kextnet.kernel.sync.KernelThreads;
import org.kextnet.kernel.sync.ThreadAbandoned;

/**
 * A receive ring for in-process drivers (loopback, memory wire): any thread enqueues frames; one reader
 * thread takes them out in batches of up to {@link #BATCH} and runs input for the whole batch. The reader
 * parks when the ring is empty and is woken by the next enqueue. An optional delay holds each frame until
 * its enqueue time plus the delay. Without a reader thread ("poll mode") the owner calls {@link #poll}.
 *
 * <p>A producer can also claim places for a run of frames and fill them one by one ({@link #claim}); the
 * reader takes the frames of a claim as they are placed.
 *
 * <p>The reader is a {@link KernelThreads.Worker}: if the watchdog abandons it inside an extension's call, a new
 * reader thread takes the ring over with a context and a batch of its own, and the stuck one, should its call
 * return, unwinds without touching the ring again.
 */
public final class RxRing {
    public static final int BATCH = 64;
    private static final long IDLE_PARK_NANOS = 50_000_000L;
    /** How long the reader waits for a producer that has taken a place but not yet filled it. */
    private static final long FILLING_PARK_NANOS = 20_000L;

    private final FrameRing queue;
    private final long delayNanos;
    /** Poll mode's batch; a reader thread has its own. */
    private final Packet[] batch = new Packet[BATCH];
    private volatile KernelThreads.Worker reader;
    private volatile boolean parked;
    private volatile boolean running;

    public RxRing(int capacity, long delayNanos) {
        this.queue = new FrameRing(capacity);
        this.delayNanos = delayNanos;
    }

    /** Enqueues a frame; false (and the caller still owns it) when the ring is full. */
    public boolean offer(Packet m) {
        if (delayNanos > 0) m.timestamp = System.nanoTime();
        if (!queue.offer(m)) return false;
        wakeReader();
        return true;
    }

    /**
     * Enqueues a frame into {@code claim}'s next place (null: none) when it is open on this ring with room (a frame the
     * claim's owner sends while working through its run keeps its place in the run's order), else at the
     * tail as {@link #offer(Packet)}.
     */
    public boolean offer(TxClaim claim, Packet m) {
        if (claim == null || !claim.hasRoomIn(queue)) return offer(m);
        put(claim, m);
        return true;
    }

    /**
     * Opens {@code claim} on up to {@code n} consecutive places at the tail for frames the caller then
     * {@linkplain #put puts} in order, and {@linkplain #release releases} when done (in a {@code finally}: the
     * reader waits at the claim's first unfilled place). Returns how many places, 0 when the ring is full.
     */
    public int claim(TxClaim claim, int n) { return queue.claim(claim, n); }

    /** Places {@code m} in the claim's next place, where the reader can take it at once. Takes ownership. */
    public void put(TxClaim claim, Packet m) {
        if (delayNanos > 0) m.timestamp = System.nanoTime();
        queue.put(claim, m);
    }

    /** Closes the claim (places it did not use are skipped) and wakes the reader if it waits. */
    public void release(TxClaim claim) {
        queue.release(claim);
        wakeReader();
    }

    /** Unparks the reader thread if it is parked (or about to park) waiting for frames. */
    private void wakeReader() {
        if (parked) {
            KernelThreads.Worker w = reader;
            Thread t = w == null ? null : w.thread();
            if (t != null) LockSupport.unpark(t);
        }
    }

    /** Starts a reader thread that feeds {@code ifp}. */
    public void start(String threadName, Interface ifp) {
        running = true;
        KernelThreads.Worker w = ifp.table().threads().worker(threadName, () -> run(ifp));
        reader = w;
        w.start();
    }

    private void run(Interface ifp) {
        KernelThreads.Worker self = reader;
        PacketContext ctx = ifp.table().contexts().open();
        Packet[] own = new Packet[BATCH];
        try {
            while (running && self.isCurrent()) {
                int n;
                try {
                    n = poll(ctx, ifp, own);
                } catch (RuntimeException e) {
                    // Input already contains per-packet failures; this is a last guard so the reader never dies.
                    ifp.table().reportError(ifp, e);
                    n = 1;
                }
                if (n == 0) {
                    parked = true;
                    long wait = nanosUntilNext();
                    if (wait > 0 && running) LockSupport.parkNanos(this, wait);
                    parked = false;
                }
            }
        } catch (ThreadAbandoned gone) {
            // The watchdog gave up on this thread inside an extension's call and a new reader has the ring: let go
            // of what only this thread holds, and nothing else.
            letGo(ctx, own);
            return;
        }
        if (self.isCurrent()) {
            Packet m;
            while ((m = queue.poll()) != null) m.free();
        }
        ctx.close();
    }

    /** An abandoned reader's last act: the frames of its batch not yet handed on, its vectors, its cached buffers. */
    public static void letGo(PacketContext ctx, Packet[] batch) {
        try {
            for (int i = 0; i < batch.length; i++) {
                Packet m = batch[i];
                batch[i] = null;
                if (m != null && !m.isFree()) m.free();
            }
            ctx.discardVectors();
        } catch (RuntimeException e) {
            // a packet the stuck call still held; leaving it is better than failing here
        } finally {
            ctx.close();
        }
    }

    private long nanosUntilNext() {
        Packet head = queue.peek();
        if (head == null) return queue.isEmpty() ? IDLE_PARK_NANOS : FILLING_PARK_NANOS;
        if (delayNanos == 0) return 0;
        return Math.max(0, head.timestamp + delayNanos - System.nanoTime());
    }

    /**
     * Delivers up to one batch of due frames to {@code ifp} (or frees them if {@code ifp} is null).
     * Only the reader calls this: the thread, or the owner in poll mode.
     * @return frames delivered
     */
    public int poll(PacketContext ctx, Interface ifp) {
        return poll(ctx, ifp, batch);
    }

    private int poll(PacketContext ctx, Interface ifp, Packet[] batch) {
        int n = 0;
        long now = delayNanos > 0 ? System.nanoTime() : 0;
        while (n < BATCH) {
            if (delayNanos > 0) {
                Packet head = queue.peek();
                if (head == null || head.timestamp + delayNanos - now > 0) break;
            }
            Packet m = queue.poll();
            if (m == null) break;
            batch[n++] = m;
        }
        if (n == 0) return 0;
        if (ifp != null) {
            ifp.input(ctx, batch, n);
        } else {
            for (int i = 0; i < n; i++) { batch[i].free(); batch[i] = null; }
        }
        return n;
    }

    /** Takes the next frame regardless of delay (tests read what a driver sent), or null. */
    public Packet take() { return queue.poll(); }

    public int size() { return queue.size(); }

    /** Stops the reader thread and frees what is queued. */
    public void stop() {
        running = false;
        KernelThreads.Worker w = reader;
        if (w != null) {
            Thread t = w.thread();
            if (t != null) LockSupport.unpark(t);
            try {
                w.stopAndJoin(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Packet m;
        while ((m = queue.poll()) != null) m.free();
    }
}
