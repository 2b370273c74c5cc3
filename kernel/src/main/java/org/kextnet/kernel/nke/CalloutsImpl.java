package org.kextnet.kernel.nke;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kpi.Callouts;

/**
 * {@link Callouts} on the kernel's timer thread, bound to one extension. Each callout runs inside a read-side
 * section, guarded; it is a registration until it has run (one-shot) or been cancelled, and its end waits
 * for a grace period so that unload never races a run.
 */
final class CalloutsImpl implements Callouts {
    private final ExtensionHandle owner;

    CalloutsImpl(ExtensionHandle owner) {
        this.owner = owner;
    }

    @Override public Callout schedule(Runnable task, long delay, TimeUnit unit) {
        return start(task, delay, unit, false);
    }

    @Override public Callout scheduleAtFixedRate(Runnable task, long period, TimeUnit unit) {
        return start(task, period, unit, true);
    }

    private Callout start(Runnable task, long delay, TimeUnit unit, boolean periodic) {
        if (owner.isClosed()) throw new IllegalStateException("extension " + owner.name() + " is unloaded");
        Entry e = new Entry(task, periodic);
        owner.record(e);
        e.future = periodic
                ? owner.kernel().timer().scheduleAtFixedRate(e::run, delay, delay, unit)
                : owner.kernel().timer().schedule(e::run, delay, unit);
        return e;
    }

    private final class Entry extends KernelRegistration implements Callout {
        private final Runnable task;
        private final boolean periodic;
        volatile ScheduledFuture<?> future;

        Entry(Runnable task, boolean periodic) {
            super(owner, "callout", task.getClass().getName());
            this.task = task;
            this.periodic = periodic;
        }

        void run() {
            if (!isActive()) return;
            PacketContext ctx = owner.kernel().context();
            ctx.enter();
            try {
                task.run();
            } catch (Throwable t) {
                if (countFault("run", t)) end(true);
            } finally {
                ctx.exit();
            }
            if (!periodic) end(false);
        }

        @Override public boolean cancel() {
            ScheduledFuture<?> f = future;
            boolean cancelled = f != null && f.cancel(false);
            end(false);
            return cancelled;
        }

        private void end(boolean faulted) {
            if (!beginDetach()) return;
            ScheduledFuture<?> f = future;
            if (f != null) f.cancel(false);
            owner.kernel().grace().defer(() -> finishDetach(faulted));
        }

        @Override protected boolean removeByKernel(boolean faulted) {
            end(faulted);
            return true;
        }
    }
}
