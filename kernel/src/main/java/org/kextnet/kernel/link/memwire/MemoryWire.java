package org.kextnet.kernel.link.memwire;

import java.util.concurrent.ThreadLocalRandom;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.RxRing;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.BatchDriver;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.TxClaim;
import org.kextnet.kernel.stat.Stat;

/**
 * An in-process cable: two ends, each the driver of one interface (in the same kernel or in two), and
 * what one end transmits the other receives. For tests and benchmarks; it can lose a share of frames and
 * delay them to imitate a worse link.
 *
 * <p>Each end receives through an {@link RxRing} with its own reader thread, or, in poll mode, whenever
 * its owner calls {@link End#poll}.
 */
public final class MemoryWire {
    /** Link impairments and ring size. */
    public record Options(double lossRate, long delayNanos, int ringSize, boolean pollMode) {
        public Options {
            if (lossRate < 0 || lossRate > 1) throw new IllegalArgumentException("loss rate " + lossRate);
            if (delayNanos < 0) throw new IllegalArgumentException("delay " + delayNanos);
            if (ringSize < 2) throw new IllegalArgumentException("ring size " + ringSize);
        }
        public static Options perfect() { return new Options(0, 0, 4096, false); }
        public Options withLoss(double rate) { return new Options(rate, delayNanos, ringSize, pollMode); }
        public Options withDelayNanos(long d) { return new Options(lossRate, d, ringSize, pollMode); }
        public Options withRingSize(int n) { return new Options(lossRate, delayNanos, n, pollMode); }
        public Options withPollMode(boolean p) { return new Options(lossRate, delayNanos, ringSize, p); }
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
        private final boolean lossy = options.lossRate() > 0;
        private End peer;
        private volatile Interface ifp;

        private End(String side) { this.side = side; }

        @Override public boolean transmit(PacketContext ctx, Packet m) {
            if (lostOnTheWire(ctx, m)) return true; // sent, then lost
            m.nextPkt = null;
            m.clearHostState(); // the other end gets the bytes, not this host's tags and flags
            if (peer.rx.offer(TxClaim.ofThisThread(), m)) return true;
            m.free();
            return false;
        }

        @Override public int claim(TxClaim claim, int n) { return peer.rx.claim(claim, n); }

        @Override public boolean transmitClaimed(PacketContext ctx, TxClaim claim, Packet m) {
            if (lostOnTheWire(ctx, m)) return true;
            m.nextPkt = null;
            m.clearHostState();
            peer.rx.put(claim, m);
            return true;
        }

        @Override public void release(TxClaim claim) { peer.rx.release(claim); }

        /** Whether the wire loses {@code m} (then counted and freed), by the configured loss rate. */
        private boolean lostOnTheWire(PacketContext ctx, Packet m) {
            if (!lossy || ThreadLocalRandom.current().nextDouble() >= options.lossRate()) return false;
            ctx.stats().inc(Stat.LINK_WIRE_LOSS);
            m.free();
            return true;
        }

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

        @Override public void stop() { rx.stop(); }

        @Override public String describe() { return "memory wire " + name + "/" + side; }
    }
}
