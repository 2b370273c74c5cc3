package org.kextnet.loader;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.ReplyPort;
import org.kextnet.loader.server.RegistrationLedger;
import org.kextnet.loader.server.ServerContext;

/**
 * The unload sequence of one server, run while its record is Unloading: stop serving its ports and wait
 * for calls inside its routines, FREE routines in order on its thread, an extension's {@code stop(Kpi)}
 * (called again while it answers EBUSY, as {@code kextunload} is retried), drop PORT_DEATH forwards, wait
 * until the kernel and the KernServ handle hold no registration of it (every detached callback ran), revoke
 * the handle, release the KPI handle, stop its thread. A FREE that throws, fails or hangs, a stop that
 * fails or still refuses at the timeout, registrations left past the drain timeout, or a thread that will
 * not stop make the unload forced: the stragglers are removed by the loader and the caller gets 114.
 */
final class UnloadSequence {
    /** Pause between two calls of a {@code stop} that answered EBUSY. */
    static final long STOP_RETRY_MILLIS = 10;

    private final KernLoader loader;
    private final ServerRecord rec;
    private final LoadedServer ls;

    UnloadSequence(KernLoader loader, ServerRecord rec, LoadedServer ls) {
        this.loader = loader;
        this.rec = rec;
        this.ls = ls;
    }

    /** @return null if the unload was clean, else why it had to be forced */
    String run() {
        long drain = loader.options().drainTimeoutMillis();
        long callTimeout = loader.options().callTimeoutMillis();
        RegistrationLedger ledger = loader.options().ledger();
        ServerContext ctx = ls.context;
        String forced = null;
        try {
            for (Port p : rec.ports) {
                if (!p.quiesce(drain) && forced == null) forced = "calls still inside its routines after " + drain + " ms";
            }
            if (forced == null) forced = free(callTimeout);
            if (forced == null && ls.kpi != null) forced = stop(callTimeout, drain);
            for (ReplyPort r : ls.watched) r.unwatch(ls.deathWatcher);
            ls.watched.clear();
            if (forced == null) forced = awaitNoRegistrations(ctx, drain);
            ctx.revoke();
            if (forced != null) removeStragglers(loader, rec.name, ctx, drain);
            long kernelFaults = ledger.faults(ctx); // the kernel's count for this load, kept past the handle
            ledger.release(ctx);
            rec.addFaults(kernelFaults);
            if (!ls.thread.shutdown(drain) && forced == null) forced = "its thread did not stop";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ctx.revoke();
            ledger.removeAll(ctx);
            ledger.release(ctx);
            forced = "interrupted";
        }
        return forced;
    }

    private String free(long timeout) throws InterruptedException {
        for (LoadedServer.Call c : ls.free) {
            try {
                int rc = ls.thread.call(() -> {
                    try {
                        return (int) c.handle().invokeExact((KernServ) ls.context, c.arg());
                    } catch (Exception | Error e) {
                        throw e;
                    } catch (Throwable t) {
                        throw new RuntimeException(t);
                    }
                }, timeout);
                if (rc != 0) return "FREE " + c.routine() + " returned " + rc;
            } catch (ExecutionException e) {
                rec.fault(e.getCause());
                return "FREE " + c.routine() + " threw " + e.getCause();
            } catch (TimeoutException e) {
                return "FREE " + c.routine() + " did not return within " + timeout + " ms";
            }
        }
        return null;
    }

    /**
     * {@code stop(Kpi)} on the server's thread, called again every {@value #STOP_RETRY_MILLIS} ms while it
     * answers EBUSY (its removals are under way, or a control still has clients), for at most {@code drain} ms.
     * The thread is free between calls, so callbacks posted to it can run.
     */
    private String stop(long callTimeout, long drain) throws InterruptedException {
        KernelExtension ext = (KernelExtension) ls.instance;
        long deadline = System.nanoTime() + drain * 1_000_000;
        int calls = 0;
        while (true) {
            int rc;
            calls++;
            try {
                rc = ls.thread.call(() -> ext.stop(ls.kpi), callTimeout);
            } catch (ExecutionException e) {
                rec.fault(e.getCause());
                return "stop threw " + e.getCause();
            } catch (TimeoutException e) {
                return "stop did not return within " + callTimeout + " ms";
            }
            if (rc == 0) return null;
            if (rc != Errno.EBUSY) return "stop returned " + Errno.name(rc);
            if (calls == 1) loader.log().log(LogPriority.INFO, rec.name + ": stop answered EBUSY; calling it again until it stops (at most " + drain + " ms)");
            if (System.nanoTime() > deadline) return "stop still refused (EBUSY) after " + drain + " ms and " + calls + " calls";
            Thread.sleep(STOP_RETRY_MILLIS);
        }
    }

    private String awaitNoRegistrations(ServerContext ctx, long drain) throws InterruptedException {
        Map<String, Integer> left = awaitEmpty(loader, ctx, drain);
        return left.isEmpty() ? null : "still holds registrations " + left + " after " + drain + " ms";
    }

    /** Waits up to {@code millis} for no registration of {@code ctx} to be left; returns what is left. */
    static Map<String, Integer> awaitEmpty(KernLoader loader, ServerContext ctx, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (true) {
            Map<String, Integer> left = new LinkedHashMap<>(ctx.outstanding());
            loader.options().ledger().outstanding(ctx).forEach((k, v) -> left.merge(k, v, Integer::sum));
            if (left.isEmpty() || System.nanoTime() > deadline) return left;
            Thread.sleep(5);
        }
    }

    /**
     * The loader removes what the server left (its handle already revoked): every kernel registration,
     * control clients disconnected, then waits up to {@code drain} ms for their detached callbacks, so the
     * kernel no longer calls the server's code when its class loader is dropped.
     */
    static void removeStragglers(KernLoader loader, String name, ServerContext ctx, long drain) throws InterruptedException {
        RegistrationLedger ledger = loader.options().ledger();
        Map<String, Integer> before = ledger.outstanding(ctx);
        if (before.isEmpty()) return;
        ledger.removeAll(ctx);
        Map<String, Integer> left = awaitEmpty(loader, ctx, drain);
        loader.log().log(left.isEmpty() ? LogPriority.NOTICE : LogPriority.ERR, name + ": removed registrations " + before
                + (left.isEmpty() ? "" : "; still detaching after " + drain + " ms: " + left));
    }
}
