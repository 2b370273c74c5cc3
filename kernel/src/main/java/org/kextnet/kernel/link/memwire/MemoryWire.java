package org.kextnet.kernel.link.memwire;

import java.util.SplittableRandom;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.RxRing;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.BatchDriver;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.TxClaim;
import org.kextnet.kernel.stat.Stat;

/**
 * An in-process cable: two ends, each the driver of one interface (in the same kernel or in two), and
 * what one end transmits the other receives. For tests and benchmarks; it can lose, duplicate and reorder a
 * share of frames and delay them to imitate a worse link. Which frames are lost, duplicated or reordered is
 * drawn from a random sequence per direction made from the options' seed: the n-th frame an end transmits
 * meets the same fate in every run with the same seed.
 *
 * <p>Each end receives through an {@link RxRing} with its own reader thread, or, in poll mode, whenever
 * its owner calls {@link End#poll}.
 */
public final class MemoryWire {
    /**
     * Link impairments and ring size.
     *
     * @param lossRate      share of frames lost (0..1)
     * @param delayNanos    how long each frame takes to arrive
     * @param duplicateRate share of frames delivered twice (0..1)
     * @param reorderRate   share of frames held back and delivered after the next frame in the same direction
     *                      (0..1); a frame held back when no other follows arrives with the next one, however late
     * @param seed          the seed of the random sequences that choose the frames to lose, duplicate or reorder
     */
    public record Options(double lossRate, long delayNanos, int ringSize, boolean pollMode, double duplicateRate,
                          double reorderRate, long seed) {
        public Options {
            if (lossRate < 0 || lossRate > 1) throw new IllegalArgumentException("loss rate " + lossRate);
            if (delayNanos < 0) throw new IllegalArgumentException("delay " + delayNanos);
            if (ringSize < 2) throw new IllegalArgumentException("ring size " + ringSize);
            if (duplicateRate < 0 || duplicateRate > 1) throw new IllegalArgumentException("duplicate rate " + duplicateRate);
            if (reorderRate < 0 || reorderRate > 1) throw new IllegalArgumentException("reorder rate " + reorderRate);
        }
        public static Options perfect() { return new Options(0, 0, 4096, false, 0, 0, 1); }
        public Options withLoss(double rate) { return new Options(rate, delayNanos, ringSize, pollMode, duplicateRate, reorderRate, seed); }
        public Options withDelayNanos(long d) { return new Options(lossRate, d, ringSize, pollMode, duplicateRate, reorderRate, seed); }
        public Options withRingSize(int n) { return new Options(lossRate, delayNanos, n, pollMode, duplicateRate, reorderRate, seed); }
        public Options withPollMode(boolean p) { return new Options(lossRate, delayNanos, ringSize, p, duplicateRate, reorderRate, seed); }
        public Options withDuplication(double rate) { return new Options(lossRate, delayNanos, ringSize, pollMode, rate, reorderRate, seed); }
        public Options withReordering(double rate) { return new Options(lossRate, delayNanos, ringSize, pollMode, duplicateRate, rate, seed); }
        public Options withSeed(long s) { return new Options(lossRate, delayNanos, ringSize, pollMode, duplicateRate, reorderRate, s); }

        /** Whether any frame may be lost, duplicated or reordered. */
        boolean impaired() { return lossRate > 0 || duplicateRate > 0 || reorderRate > 0; }
    }

    private final String name;
    private final Options options;
    private final End a, b;

    public MemoryWire(String name, Options options) {
        this.name = name;
        this.options = options;
        this.a = new End("a");
        this.b = new End("b");
        a.peer = b;
        b.peer = a;
    }

    public MemoryWire(String name) { this(name, Options.perfect()); }

    public End a() { return a; }
    public End b() { return b; }
    public Options options() { return options; }

    /** One end of the wire: the driver of the interface plugged into it. */
    public final class End implements BatchDriver {
        /** Frames stay in this process: nothing on the way can corrupt them. */
        @Override public boolean trusted() { return true; }

        private final String side;
        private final RxRing rx = new RxRing(options.ringSize(), options.delayNanos());
        private final boolean impaired = options.impaired();
        /** Draws the fate of each frame this end transmits; guarded by itself. */
        private final SplittableRandom fate;
        /** A frame held back to be reordered, guarded by {@link #fate}. */
        private Packet held;
        private End peer;
        private volatile Interface ifp;

        private End(String side) {
            this.side = side;
            this.fate = new SplittableRandom(options.seed() * 31 + side.hashCode());
        }

        @Override public boolean transmit(PacketContext ctx, Packet m) {
            m.nextPkt = null;
            m.clearHostState(); // the other end gets the bytes, not this host's tags and flags
            if (!impaired) return deliver(m);
            Packet dup = null, release;
            synchronized (fate) {
                // Three draws per frame whatever the rates, so that the sequence of fates depends on the seed only.
                boolean lose = fate.nextDouble() < options.lossRate();
                boolean twice = fate.nextDouble() < options.duplicateRate();
                boolean late = fate.nextDouble() < options.reorderRate();
                if (lose) {
                    ctx.stats().inc(Stat.LINK_WIRE_LOSS);
                    m.free();
                    return true; // sent, then lost
                }
                if (twice) dup = m.dup(); // null when no buffer is free: then it arrives once
                if (late && held == null) { // held back until the next frame has gone
                    held = m;
                    m = null;
                }
                release = m == null ? null : held;
                if (m != null) held = null;
                // Delivered under the lock, so that the order drawn is the order on the wire.
                if (m != null) deliver(m);
                if (dup != null) deliver(dup);
                if (release != null) deliver(release);
            }
            return true;
        }

        private boolean deliver(Packet m) {
            if (peer.rx.offer(TxClaim.ofThisThread(), m)) return true;
            m.free();
            return false;
        }

        /** Runs of frames go straight into the peer's ring, unless frames are to be lost, duplicated or reordered. */
        @Override public int claim(TxClaim claim, int n) { return impaired ? 0 : peer.rx.claim(claim, n); }

        @Override public boolean transmitClaimed(PacketContext ctx, TxClaim claim, Packet m) {
            m.nextPkt = null;
            m.clearHostState();
            peer.rx.put(claim, m);
            return true;
        }

        @Override public void release(TxClaim claim) { peer.rx.release(claim); }

        /** Puts a frame on the wire towards this end, as if the peer had sent it. Takes ownership. */
        public boolean inject(Packet m) {
            if (rx.offer(m)) return true;
            m.free();
            return false;
        }

        /**
         * Puts a frame on the wire towards this end if the ring has room; false (and the caller still owns the
         * frame) when it is full. For producers that must not lose frames.
         */
        public boolean offer(Packet m) { return rx.offer(m); }

        @Override public void start(Interface ifp) {
            this.ifp = ifp;
            if (!options.pollMode()) rx.start("kextnet-" + ifp.table().kernelName() + "-" + ifp.name(), ifp);
        }

        /** Poll mode: delivers up to one batch of received frames (frees them if no interface is plugged in). */
        public int poll(PacketContext ctx) { return rx.poll(ctx, ifp); }

        /** Takes the next received frame without delivering it (a test reading what the peer sent), or null. */
        public Packet take() { return rx.take(); }

        /** Places taken in this end's ring: frames queued, and places claimed for a run not yet filled or skipped. */
        public int queued() { return rx.size(); }

        @Override public void stop() {
            rx.stop();
            Packet h;
            synchronized (fate) {
                h = held;
                held = null;
            }
            if (h != null) h.free();
        }

        @Override public String describe() { return "memory wire " + name + "/" + side; }
    }
}
