package org.kextnet.kernel.embed;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.memwire.MemoryWire;

/**
 * A paced traffic source for a threaded {@link KernelHarness}, as a NIC is: one thread puts frames on one
 * link at a fixed offered rate and takes what the kernel forwards off another. Each time it runs it injects
 * the packets that came due since the start (in a burst, as a NIC's interrupt coalescing delivers them), drains
 * the egress link, and parks when it is ahead instead of spinning, so the packet threads keep their cores.
 *
 * <p>Each frame carries its sequence number ({@link SequencedStream}); numbers go only to frames the kernel's
 * ring accepted, so a {@link SequencedStream.Checker} on the egress sees the kernel's losses only. Frames the
 * ring or the buffer pool refused are counted apart: if there are any, the offered rate was not delivered.
 *
 * <p>The source is a thread too, and on a busy machine it waits for a core like the others. When it comes
 * back more than a millisecond behind its schedule it does not try to catch up in one long burst (a NIC
 * does not store what arrived while the host was busy elsewhere; its ring overflows): the packets beyond that
 * millisecond count as {@link #missed}, offered to nobody, and say that the machine, not the kernel, fell
 * short of the rate.
 */
public final class PacedSource implements AutoCloseable {
    /** Takes a frame from the egress link; the source frees it afterwards. Runs on the source's thread. */
    @FunctionalInterface
    public interface Receiver {
        void accept(Packet m);
    }

    /** Most frames injected in one go before the egress is drained again. */
    public static final int MAX_BURST = 256;

    private final Buffers buffers;
    private final MemoryWire.End in, out;
    private final byte[] frame;
    private final int payloadOffset;
    private final long packetsPerSecond;
    private final long tickNanos;
    private final Receiver receiver;
    private final Thread thread;
    private final long maxLag;
    private final AtomicLong offered = new AtomicLong(), accepted = new AtomicLong(), noBuffer = new AtomicLong(),
            ringFull = new AtomicLong(), missed = new AtomicLong(), received = new AtomicLong(), wakeups = new AtomicLong();
    private volatile boolean offering = true, closed;
    private volatile long startNanos, stopNanos;

    /**
     * Starts the source.
     * @param frame            the frame template ({@link SequencedStream#forwardedFrame})
     * @param payloadOffset    where the UDP payload starts in the frame
     * @param packetsPerSecond the offered rate
     * @param tickNanos        how long the source parks when it is ahead (the timer's slack comes on top)
     * @param receiver         sees every frame from the egress link, or null
     */
    public PacedSource(KernelHarness k, String inLink, String outLink, byte[] frame, int payloadOffset,
                       long packetsPerSecond, long tickNanos, Receiver receiver) {
        this.buffers = k.kernel().buffers();
        this.in = k.link(inLink).wire().a();
        this.out = k.link(outLink).wire().b();
        this.frame = frame.clone();
        this.payloadOffset = payloadOffset;
        this.packetsPerSecond = packetsPerSecond;
        this.tickNanos = tickNanos;
        this.receiver = receiver;
        this.maxLag = Math.max(MAX_BURST, packetsPerSecond / 1000);
        this.thread = Thread.ofPlatform().name("paced-source").unstarted(this::run);
        this.startNanos = System.nanoTime();
        thread.start();
    }

    private void run() {
        long start = System.nanoTime();
        startNanos = start;
        long offeredN = 0, seq = 0, noBufferN = 0, ringFullN = 0, missedN = 0, receivedN = 0, wakeupsN = 0;
        while (!closed) {
            long due = offering ? (System.nanoTime() - start) * packetsPerSecond / 1_000_000_000L - missedN : offeredN;
            if (due - offeredN > maxLag) {
                missedN += due - offeredN - maxLag;
                due = offeredN + maxLag;
            }
            long burst = Math.min(due - offeredN, MAX_BURST);
            for (long i = 0; i < burst; i++) {
                Packet m = buffers.alloc();
                if (m == null) {
                    noBufferN++;
                    continue;
                }
                SequencedStream.fill(m, frame, payloadOffset, seq);
                if (in.offer(m)) {
                    seq++;
                } else {
                    m.free();
                    ringFullN++;
                }
            }
            offeredN += burst;
            Packet m;
            while ((m = out.take()) != null) {
                if (receiver != null) receiver.accept(m);
                m.free();
                receivedN++;
            }
            offered.lazySet(offeredN);
            accepted.lazySet(seq);
            noBuffer.lazySet(noBufferN);
            ringFull.lazySet(ringFullN);
            missed.lazySet(missedN);
            received.lazySet(receivedN);
            if (offeredN >= due) {
                if (!offering && stopNanos == 0) stopNanos = System.nanoTime();
                wakeups.lazySet(++wakeupsN);
                LockSupport.parkNanos(this, tickNanos);
            }
        }
    }

    /** Frames offered so far (accepted and refused; not those {@link #missed}). */
    public long offered() { return offered.get(); }
    /** Frames the kernel's ring took: the sequence numbers 0 .. accepted-1 went out. */
    public long accepted() { return accepted.get(); }
    /** Frames refused by a full ring or an empty buffer pool: the kernel did not keep up. */
    public long refused() { return noBuffer.get() + ringFull.get(); }
    /** Of those, frames for which the pool had no buffer (all of them in the rings). */
    public long noBuffer() { return noBuffer.get(); }
    /** Frames never offered because the source's own thread fell more than a millisecond behind. */
    public long missed() { return missed.get(); }
    /** Frames taken from the egress link. */
    public long received() { return received.get(); }
    /** Times the source parked because it was ahead. */
    public long wakeups() { return wakeups.get(); }

    /** Seconds of offering: from the start to {@link #stopOffering} (or now). */
    public double offeringSeconds() {
        long end = stopNanos;
        return ((end != 0 ? end : System.nanoTime()) - startNanos) / 1e9;
    }

    /** Stops injecting; the egress is still drained until {@link #close}. */
    public void stopOffering() { offering = false; }

    /**
     * After {@link #stopOffering}: waits until every accepted frame came out, or until nothing came out for
     * {@code quietMillis} (the kernel dropped the rest).
     * @return whether every accepted frame came out
     */
    public boolean awaitDrained(long quietMillis) throws InterruptedException {
        long last = -1, since = System.nanoTime();
        while (true) {
            while (stopNanos == 0 && !closed) Thread.sleep(1);
            long r = received(), a = accepted();
            if (r >= a) return true;
            if (r != last) {
                last = r;
                since = System.nanoTime();
            } else if (System.nanoTime() - since > quietMillis * 1_000_000L) {
                return false;
            }
            Thread.sleep(1);
        }
    }

    /** Stops the thread; frames still in the kernel stay there (closing the kernel frees them). */
    @Override public void close() throws InterruptedException {
        offering = false;
        closed = true;
        LockSupport.unpark(thread);
        thread.join();
    }
}
