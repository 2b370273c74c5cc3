package org.kextnet.loader;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import org.kextnet.kpi.server.KernServ;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.ReplyPort;
import org.kextnet.loader.server.ServerContext;

/**
 * The unload sequence of one server, run while its record is Unloading: stop serving its ports and wait
 * for calls inside its routines, FREE routines in order on its thread, drop PORT_DEATH forwards, wait until
 * the kernel and the KernServ handle hold no registration of it, revoke the handle, stop its thread. A FREE
 * that throws, fails or hangs, registrations left past the drain timeout, or a thread that will not stop
 * make the unload forced: the stragglers are removed by the kernel and the caller gets 114.
 */
final class UnloadSequence {
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
        ServerContext ctx = ls.context;
        String forced = null;
        try {
            for (Port p : rec.ports) {
                if (!p.quiesce(drain) && forced == null) forced = "calls still inside its routines after " + drain + " ms";
            }
            if (forced == null) forced = free(callTimeout);
            for (ReplyPort r : ls.watched) r.unwatch(ls.deathWatcher);
            ls.watched.clear();
            if (forced == null) forced = awaitNoRegistrations(ctx, drain);
            ctx.revoke();
            if (forced != null) loader.options().ledger().removeAll(ctx);
            if (!ls.thread.shutdown(drain) && forced == null) forced = "its thread did not stop";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ctx.revoke();
            loader.options().ledger().removeAll(ctx);
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

    private String awaitNoRegistrations(ServerContext ctx, long drain) throws InterruptedException {
        long deadline = System.nanoTime() + drain * 1_000_000;
        while (true) {
            Map<String, Integer> left = new LinkedHashMap<>(ctx.outstanding());
            loader.options().ledger().outstanding(ctx).forEach((k, v) -> left.merge(k, v, Integer::sum));
            if (left.isEmpty()) return null;
            if (System.nanoTime() > deadline) return "still holds registrations " + left + " after " + drain + " ms";
            Thread.sleep(5);
        }
    }
}
