package org.kextnet.kernel.nke;

import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.sync.Timeout;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kpi.Callouts;

/**
 * {@link Callouts} on the kernel's timer wheel, bound to one extension. Each callout runs on the timer thread
 * inside a read-side section, guarded; it is a registration until it has run (one-shot) or been cancelled, and
 * its end waits for a grace period so that unload never races a run.
 */
final class CalloutsImpl implements Callouts {
    private final ExtensionHandle owner;
    private final TimerWheel wheel;
    private final Contexts contexts;

    CalloutsImpl(ExtensionHandle owner, TimerWheel wheel, Contexts contexts) {
        this.owner = owner;
        this.wheel = wheel;
        this.contexts = contexts;
    }

    @Override public Callout schedule(Runnable task, long delay, TimeUnit unit) {
        return start(task, unit.toNanos(delay), 0);
    }

    @Override public Callout scheduleAtFixedRate(Runnable task, long period, TimeUnit unit) {
        long p = unit.toNanos(period);
        if (p <= 0) throw new IllegalArgumentException("period " + period + " " + unit);
        return start(task, p, p);
    }

    private Callout start(Runnable task, long delayNanos, long periodNanos) {
        if (owner.isClosed()) throw new IllegalStateException("extension " + owner.name() + " is unloaded");
        Entry e = new Entry(task, periodNanos);
        owner.record(e);
        wheel.scheduleAfter(e.timeout, delayNanos);
        return e;
    }

    private final class Entry extends KernelRegistration implements Callout {
        private final Runnable task;
        /** The period of a fixed-rate callout, 0 for a one-shot. */
        private final long period;
        final Timeout timeout = new Timeout((t, now) -> run(t.deadline()));

        Entry(Runnable task, long period) {
            super(owner, Head.CALLOUT, "callout", task.getClass().getName());
            this.task = task;
            this.period = period;
        }

        void run(long deadline) {
            if (!isActive()) return;
            if (period > 0) wheel.schedule(timeout, deadline + period); // fixed rate: from the deadline, not from now
            PacketContext ctx = contexts.acquire();
            ctx.enter();
            try {
                run(ctx.calls, "run", task);
            } finally {
                ctx.exit();
                contexts.release(ctx);
            }
            if (period == 0) end(Removal.REQUESTED);
        }

        @Override public boolean cancel() {
            boolean cancelled = wheel.cancel(timeout);
            end(Removal.REQUESTED);
            return cancelled;
        }

        private void end(Removal why) {
            if (!beginDetach()) return;
            wheel.cancel(timeout);
            owner.grace().defer(() -> finishDetach(why));
        }

        @Override protected Object target() { return task; }

        @Override public boolean removeByKernel(Removal why) {
            end(why);
            return true;
        }
    }
}
