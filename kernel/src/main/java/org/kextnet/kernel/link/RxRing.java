package org.kextnet.kernel.link;

import java.util.concurrent.locks.LockSupport;

import org.jctools.queues.MpscArrayQueue;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.net.Interface;

/**
 * A receive ring for in-process drivers (loopback, memory wire): any thread enqueues frames; one reader
 * thread takes them out in batches of up to {@link #BATCH} and runs input for the whole batch. The reader
 * parks when the ring is empty and is woken by the next enqueue. An optional delay holds each frame until
 * its enqueue time plus the delay. Without a reader thread ("poll mode") the owner calls {@link #poll}.
 */
public final class RxRing {
    public static final int BATCH = 64;
    private static final long IDLE_PARK_NANOS = 50_000_000L;

    private final MpscArrayQueue<Mbuf> queue;
    private final long delayNanos;
    private final Mbuf[] batch = new Mbuf[BATCH];
    private volatile Thread reader;
    private volatile boolean parked;
    private volatile boolean running;

    public RxRing(int capacity, long delayNanos) {
        this.queue = new MpscArrayQueue<>(capacity);
        this.delayNanos = delayNanos;
    }

    /** Enqueues a frame; false (and the caller still owns it) when the ring is full. */
    public boolean offer(Mbuf m) {
        if (delayNanos > 0) m.timestamp = System.nanoTime();
        if (!queue.offer(m)) return false;
        if (parked) {
            Thread t = reader;
            if (t != null) LockSupport.unpark(t);
        }
        return true;
    }

    /**
     * Enqueues {@code frames[from..to)} in order with one claim of the ring, as far as it has room: takes the
     * first {@code n} (the return value) and clears their slots; the rest stay the caller's.
     */
    public int offer(PacketContext ctx, Mbuf[] frames, int from, int to) {
        if (delayNanos > 0) {
            long now = System.nanoTime();
            for (int i = from; i < to; i++) frames[i].timestamp = now;
        }
        FrameSource source = ctx.frameSource.from(frames, from);
        int n = 0;
        // fill() claims no more than its cached view of the free space, which may be stale: it stops short of a
        // ring that has room. Only 0 means full.
        for (int k; n < to - from && (k = queue.fill(source, to - from - n)) > 0; ) n += k;
        source.done();
        if (n > 0 && parked) {
            Thread t = reader;
            if (t != null) LockSupport.unpark(t);
        }
        return n;
    }

    /** Starts a reader thread that feeds {@code ifp}. */
    public void start(String threadName, Interface ifp) {
        running = true;
        Thread t = Thread.ofPlatform().name(threadName).daemon().unstarted(() -> run(ifp));
        reader = t;
        t.start();
    }

    private void run(Interface ifp) {
        PacketContext ctx = ifp.kernel().newContext();
        while (running) {
            int n;
            try {
                n = poll(ctx, ifp);
            } catch (RuntimeException e) {
                // Input already contains per-packet failures; this is a last guard so the reader never dies.
                ifp.kernel().reportError(ifp, e);
                n = 1;
            }
            if (n == 0) {
                parked = true;
                long wait = nanosUntilNext();
                if (wait > 0 && running) LockSupport.parkNanos(this, wait);
                parked = false;
            }
        }
        Mbuf m;
        while ((m = queue.poll()) != null) m.free();
        ctx.close();
    }

    private long nanosUntilNext() {
        Mbuf head = queue.peek();
        if (head == null) return IDLE_PARK_NANOS;
        if (delayNanos == 0) return 0;
        return Math.max(0, head.timestamp + delayNanos - System.nanoTime());
    }

    /**
     * Delivers up to one batch of due frames to {@code ifp} (or frees them if {@code ifp} is null).
     * Only the reader calls this: the thread, or the owner in poll mode.
     * @return frames delivered
     */
    public int poll(PacketContext ctx, Interface ifp) {
        int n = 0;
        long now = delayNanos > 0 ? System.nanoTime() : 0;
        while (n < BATCH) {
            if (delayNanos > 0) {
                Mbuf head = queue.peek();
                if (head == null || head.timestamp + delayNanos - now > 0) break;
            }
            Mbuf m = queue.relaxedPoll();
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
    public Mbuf take() { return queue.poll(); }

    public int size() { return queue.size(); }

    /** Stops the reader thread and frees what is queued. */
    public void stop() {
        running = false;
        Thread t = reader;
        if (t != null) {
            LockSupport.unpark(t);
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Mbuf m;
        while ((m = queue.poll()) != null) m.free();
    }
}
