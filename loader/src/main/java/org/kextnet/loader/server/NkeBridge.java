package org.kextnet.loader.server;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.LogPriority;

/**
 * Joins the loader to a kernel's extension registry: a server asking {@link KernServ#kpi}{@code (Kpi.class)}
 * gets a KPI handle bound to its load ({@link ExtensionHandle}, named after the server and logging through
 * {@link KernServ#log}); the kernel records every registration made through it, and the loader's unload
 * reads them, removes stragglers and, at the end of each load, releases the handle through the
 * {@link RegistrationLedger} side, so the next load of the server gets a fresh one.
 *
 * <p>Use it for both options: {@code LoaderOptions.defaults().withKernel(bridge, bridge)}.
 */
public final class NkeBridge implements KpiProvider, RegistrationLedger {
    private final Kernel kernel;
    private final Map<KernServ, ExtensionHandle> handles = new ConcurrentHashMap<>();

    public NkeBridge(Kernel kernel) {
        this.kernel = kernel;
    }

    /** The kernel this bridge joins. */
    public Kernel kernel() { return kernel; }

    @Override public <T> Optional<T> provide(Class<T> type, KernServ owner) {
        if (type != Kpi.class) return Optional.empty();
        ExtensionHandle h = handles.computeIfAbsent(owner, this::open);
        return Optional.of(type.cast(h));
    }

    private ExtensionHandle open(KernServ owner) {
        // The loader released the previous load's handle, so the server's name is free.
        return kernel.nke().open(owner.serverName(), new KernServLogger(owner));
    }

    @Override public Map<String, Integer> outstanding(KernServ owner) {
        ExtensionHandle h = handles.get(owner);
        if (h == null) return Map.of();
        Map<String, Integer> byKind = new TreeMap<>();
        for (Registration r : h.registrations()) byKind.merge(r.kind(), 1, Integer::sum);
        return byKind;
    }

    @Override public void removeAll(KernServ owner) {
        ExtensionHandle h = handles.get(owner);
        if (h != null) h.forceRemoveAll();
    }

    @Override public long faults(KernServ owner) {
        ExtensionHandle h = handles.get(owner);
        return h == null ? 0 : h.faultCount();
    }

    @Override public List<Registration> registrations(KernServ owner) {
        ExtensionHandle h = handles.get(owner);
        return h == null ? List.of() : h.registrations();
    }

    @Override public String health(KernServ owner) {
        ExtensionHandle h = handles.get(owner);
        return h == null ? "" : h.health().label();
    }

    @Override public String stuckIn(KernServ owner) {
        ExtensionHandle h = handles.get(owner);
        return h == null ? null : h.stuckIn();
    }

    /**
     * Closes the load's handle: later registration calls through it fail with ENXIO and the name is free for
     * the next load. A registration still detaching stays in its chain until its final callback runs.
     */
    @Override public void release(KernServ owner) {
        ExtensionHandle h = handles.remove(owner);
        if (h == null) return;
        h.close();
        h.forceRemoveAll(); // anything registered after the last check (a start that timed out) goes too
    }

    /** The extension's {@link System.Logger}, writing to the server's log with syslog priorities. */
    private static final class KernServLogger implements System.Logger {
        private final KernServ owner;

        KernServLogger(KernServ owner) { this.owner = owner; }

        @Override public String getName() { return "kext." + owner.serverName(); }

        @Override public boolean isLoggable(Level level) { return level != Level.OFF; }

        private static LogPriority priority(Level level) {
            return switch (level) {
                case ERROR -> LogPriority.ERR;
                case WARNING -> LogPriority.WARNING;
                case INFO -> LogPriority.INFO;
                default -> LogPriority.DEBUG;
            };
        }

        @Override public void log(Level level, java.util.ResourceBundle bundle, String msg, Throwable thrown) {
            write(priority(level), msg + (thrown == null ? "" : ": " + thrown));
        }

        @Override public void log(Level level, java.util.ResourceBundle bundle, String format, Object... params) {
            write(priority(level), params == null || params.length == 0 ? format : java.text.MessageFormat.format(format, params));
        }

        /**
         * The kernel logs about an extension after its unload too (the watchdog reports a call over budget up to a
         * second late), when the server's handle is revoked and its log throws: such a line has nowhere to go and is
         * dropped, rather than thrown into the kernel's thread.
         */
        private void write(LogPriority priority, String text) {
            try {
                owner.log(priority, "%s", text);
            } catch (IllegalStateException unloaded) {
                // the server is unloaded (ServerContext.check)
            }
        }
    }
}
