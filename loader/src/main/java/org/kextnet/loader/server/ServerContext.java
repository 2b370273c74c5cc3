package org.kextnet.loader.server;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.LogHub;
import org.kextnet.loader.port.NameServer;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.ReplyPort;

/**
 * The {@link KernServ} handle of one load of one server. It owns what the server makes through it
 * (timeouts, callouts, wired buffers) and is its own {@link RegistrationLedger} for them; {@link #revoke}
 * at unload cancels them all and makes every later call fail, so a stale handle can neither schedule code
 * nor keep the server's classes alive through the kernel.
 */
public final class ServerContext implements KernServ {
    private final String name, version;
    private final List<String> ports;
    private final LogHub log;
    private final ServerThread thread;
    private final ScheduledExecutorService timer;
    private final NameServer names;
    private final KpiProvider kpi;
    private final Consumer<Throwable> onFault;
    private final Set<TimeoutImpl> timeouts = ConcurrentHashMap.newKeySet();
    private final List<ByteBuffer> wired = new ArrayList<>();
    private final AtomicLong wiredBytes = new AtomicLong();
    private final AtomicInteger pendingCallouts = new AtomicInteger();
    private volatile Object instance;
    private volatile boolean revoked;

    public ServerContext(String name, String version, List<String> ports, LogHub log, ServerThread thread,
                         ScheduledExecutorService timer, NameServer names, KpiProvider kpi, Consumer<Throwable> onFault) {
        this.name = name;
        this.version = version;
        this.ports = List.copyOf(ports);
        this.log = log;
        this.thread = thread;
        this.timer = timer;
        this.names = names;
        this.kpi = kpi;
        this.onFault = onFault;
    }

    /** Sets the server's instance once it is made ({@link KernServ#instance()}). */
    public void instance(Object o) { this.instance = o; }

    @Override public String serverName() { return name; }
    @Override public String version() { return version; }
    @Override public List<String> ports() { return ports; }

    @Override public long port(String portName) {
        check();
        if (!ports.contains(portName)) return 0;
        Port p = names.named(portName);
        return p != null && p.owner().serverName().equals(name) ? p.id() : 0;
    }
    @Override public Object instance() { check(); return instance; }

    @Override public void log(LogPriority priority, String format, Object... args) {
        check();
        String text;
        try {
            text = args.length == 0 ? format : String.format(format, args);
        } catch (RuntimeException e) {
            text = format + " (bad format: " + e.getMessage() + ")";
        }
        log.log(priority, name + ": " + text);
    }

    @Override public void callout(Runnable task) {
        check();
        pendingCallouts.incrementAndGet();
        boolean queued = thread.post(() -> {
            pendingCallouts.decrementAndGet();
            if (!revoked) task.run();
        });
        if (!queued) pendingCallouts.decrementAndGet();
    }

    @Override public Timeout timeout(Runnable task, long delay, TimeUnit unit) {
        check();
        TimeoutImpl t = new TimeoutImpl(task);
        timeouts.add(t);
        t.future = timer.schedule(t::fire, delay, unit);
        return t;
    }

    @Override public ByteBuffer allocateWired(int bytes) {
        check();
        if (bytes < 0) throw new IllegalArgumentException("negative size");
        ByteBuffer b = ByteBuffer.allocateDirect(bytes);
        synchronized (wired) {
            wired.add(b);
        }
        wiredBytes.addAndGet(bytes);
        return b;
    }

    @Override public boolean send(long replyPort, int id, byte[] data) {
        check();
        ReplyPort r = names.replyPort(replyPort);
        return r != null && r.send(id, data == null ? new byte[0] : data.clone());
    }

    @Override public <T> Optional<T> kpi(Class<T> type) {
        check();
        return kpi.provide(type, this);
    }

    /** Bytes allocated through {@link #allocateWired}. */
    public long wiredBytes() { return wiredBytes.get(); }

    /** What is still scheduled through this handle, by kind. */
    public Map<String, Integer> outstanding() {
        Map<String, Integer> m = new LinkedHashMap<>();
        if (!timeouts.isEmpty()) m.put("timeout", timeouts.size());
        int c = pendingCallouts.get();
        if (c > 0) m.put("callout", c);
        return m;
    }

    /** Ends this handle: cancels timeouts, drops queued callouts and wired buffers; later calls throw. */
    public void revoke() {
        revoked = true;
        instance = null;
        for (TimeoutImpl t : timeouts) t.cancel();
        timeouts.clear();
        synchronized (wired) {
            wired.clear();
        }
    }

    public boolean revoked() { return revoked; }

    private void check() {
        if (revoked) throw new IllegalStateException("server " + name + " is unloaded: its KernServ handle is no longer valid");
    }

    private final class TimeoutImpl implements Timeout {
        private volatile Runnable task;
        private volatile ScheduledFuture<?> future;

        TimeoutImpl(Runnable task) {
            this.task = task;
        }

        void fire() {
            Runnable r = task;
            if (r == null || revoked) return;
            if (!thread.post(() -> {
                timeouts.remove(this);
                Runnable run = task;
                task = null;
                if (run != null && !revoked) run.run();
            })) timeouts.remove(this);
        }

        @Override public boolean cancel() {
            boolean had = task != null;
            task = null;
            ScheduledFuture<?> f = future;
            if (f != null) f.cancel(false);
            timeouts.remove(this);
            return had;
        }
    }

    void fault(Throwable t) { onFault.accept(t); }
}
