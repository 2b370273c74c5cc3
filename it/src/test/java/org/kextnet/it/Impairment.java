package org.kextnet.it;

import java.util.SplittableRandom;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * A test-only impairment on the stack's side of a link, for the tests against Linux (this machine's kernel has
 * no netem, and nftables can drop but not delay): an interface filter on the frames the stack sends that delays
 * each one by a fixed time, delivers a share of them twice and holds a share back behind the next one, each
 * choice drawn from a seed. Loss is left to nftables on Linux's side. It stands in until the {@code examples/netem}
 * extension (issue 12) lands, and then should give way to it.
 *
 * <p>Frames it holds are re-sent with {@link Ifnet#outputRaw} from its own thread, which the filter lets through
 * (it runs again on re-injection); at most {@link #MAX_HELD} frames wait, the rest are sent at once.
 */
final class Impairment implements InterfaceFilter, AutoCloseable {
    static final int MAX_HELD = 8192;

    private final long delayNanos;
    private final double duplicateRate, reorderRate;
    private final SplittableRandom fate;
    private final DelayQueue<Held> queue = new DelayQueue<>();
    private final Thread sender;
    private final ExtensionHandle extension;
    private final AtomicLong held = new AtomicLong(), duplicated = new AtomicLong(), reordered = new AtomicLong();
    /** A frame held back for reordering, sent after the next one; guarded by {@link #fate}. */
    private Mbuf late;
    private int lateFamily;
    private volatile Ifnet ifp;
    private volatile boolean closed;
    private static final ThreadLocal<Boolean> REINJECTING = ThreadLocal.withInitial(() -> false);

    /** A frame waiting to be sent; {@code order} keeps frames due at the same time in the order they came. */
    private record Held(long due, long order, int family, Mbuf m) implements Delayed {
        @Override public long getDelay(TimeUnit unit) { return unit.convert(due - System.nanoTime(), TimeUnit.NANOSECONDS); }
        @Override public int compareTo(Delayed o) {
            Held h = (Held) o;
            return due != h.due ? Long.compare(due, h.due) : Long.compare(order, h.order);
        }
    }
    private long order;

    private Impairment(Kernel kernel, String ifName, long delayNanos, double duplicateRate, double reorderRate, long seed) {
        this.delayNanos = delayNanos;
        this.duplicateRate = duplicateRate;
        this.reorderRate = reorderRate;
        this.fate = new SplittableRandom(seed);
        this.extension = kernel.nke().open("tsv-impairment-" + ifName);
        this.ifp = extension.interfaces().findByName(ifName);
        this.sender = Thread.ofPlatform().daemon().name("tsv-impairment-" + ifName).start(this::sendLoop);
        try {
            extension.interfaceFilters().attach(ifp, "tsv-impairment", 0, Position.DEFAULT, this);
        } catch (org.kextnet.kpi.KpiException e) {
            closed = true;
            sender.interrupt();
            throw new AssertionError("cannot attach the impairment to " + ifName, e);
        }
    }

    /** Impairs what {@code kernel} sends on {@code ifName}. */
    static Impairment on(Kernel kernel, String ifName, long delay, TimeUnit unit, double duplicateRate, double reorderRate, long seed) {
        return new Impairment(kernel, ifName, unit.toNanos(delay), duplicateRate, reorderRate, seed);
    }

    @Override public int output(Ifnet ifp, int protocolFamily, Mbuf m) {
        if (REINJECTING.get() || closed) return 0;
        Mbuf dup = null, now, after;
        synchronized (fate) {
            boolean twice = fate.nextDouble() < duplicateRate;
            boolean behind = fate.nextDouble() < reorderRate;
            if (twice) {
                dup = m.dup(); // null without a free buffer: then it goes once
                if (dup != null) duplicated.incrementAndGet();
            }
            if (behind && late == null) {
                late = m;
                lateFamily = protocolFamily;
                reordered.incrementAndGet();
                now = null;
                after = null;
            } else {
                now = m;
                after = late;
                late = null;
            }
            // Queued under the lock, so that the order drawn is the order sent.
            if (now != null) send(protocolFamily, now);
            if (dup != null) send(protocolFamily, dup);
            if (after != null) send(lateFamily, after);
        }
        return Errno.EJUSTRETURN;
    }

    private void send(int family, Mbuf m) {
        if (delayNanos > 0 && held.get() < MAX_HELD) {
            held.incrementAndGet();
            queue.put(new Held(System.nanoTime() + delayNanos, order++, family, m));
        } else {
            reinject(family, m);
        }
    }

    private void reinject(int family, Mbuf m) {
        REINJECTING.set(true);
        try {
            ifp.outputRaw(family, m);
        } finally {
            REINJECTING.set(false);
        }
    }

    private void sendLoop() {
        while (!closed) {
            try {
                Held h = queue.poll(100, TimeUnit.MILLISECONDS);
                if (h == null) continue;
                held.decrementAndGet();
                reinject(h.family(), h.m());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    long duplicated() { return duplicated.get(); }

    long reordered() { return reordered.get(); }

    /** Detaches the filter and frees what it holds. */
    @Override public void close() throws InterruptedException {
        closed = true;
        extension.removeAll();
        sender.interrupt();
        sender.join(10_000);
        for (Held h; (h = queue.poll()) != null; ) h.m().free();
        synchronized (fate) {
            if (late != null) late.free();
            late = null;
        }
        extension.awaitRemoved(10, TimeUnit.SECONDS);
    }
}
