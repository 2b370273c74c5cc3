package org.kextnet.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Linux network namespace made by a test, with a unique name, deleted again by {@link #close()}
 * together with every device the test registered ({@link #device}), whether the test passed or not.
 * Commands run with a bounded wait; their output (stdout and stderr) is captured for assertions.
 */
public final class NetNs implements AutoCloseable {
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final long PID = ProcessHandle.current().pid();
    /** Used for set-up and tear-down commands. */
    public static final Duration SHORT = Duration.ofSeconds(15);

    private final String name;
    private final List<String> devices = new CopyOnWriteArrayList<>();
    private boolean closed;

    /** What a command did. */
    public record Result(int exit, String output, boolean timedOut) {
        public boolean ok() { return exit == 0 && !timedOut; }
        @Override public String toString() {
            return (timedOut ? "timed out" : "exit " + exit) + (output.isEmpty() ? "" : ":\n" + output);
        }
    }

    private NetNs(String name) { this.name = name; }

    /**
     * Creates a namespace "kxt-TAG-PID-N" with loopback up and IPv6 off (so Linux sends no router
     * solicitations into the devices and the stack's counters see only the test's traffic).
     */
    public static NetNs create(String tag) {
        NetNs ns = new NetNs("kxt-" + tag + "-" + PID + "-" + SEQ.incrementAndGet());
        try {
            mustRun(SHORT, "ip", "netns", "add", ns.name);
            mustRun(SHORT, "ip", "-n", ns.name, "link", "set", "lo", "up");
            ns.mustExec(SHORT, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            return ns;
        } catch (RuntimeException | Error e) {
            ns.close();
            throw e;
        }
    }

    public String name() { return name; }

    /**
     * A fresh device name (at most 15 characters) that {@link #close()} deletes if it still exists,
     * here or in the root namespace.
     */
    public String device(String prefix) {
        String d = prefix + (PID % 100000) + "x" + SEQ.incrementAndGet();
        if (d.length() > 15) throw new IllegalArgumentException("device name too long: " + d);
        devices.add(d);
        return d;
    }

    /** Runs {@code cmd} inside the namespace ({@code ip netns exec}). */
    public Result exec(Duration timeout, String... cmd) { return execInput(timeout, null, cmd); }

    /** Runs {@code cmd} inside the namespace with {@code stdin} as its standard input. */
    public Result execInput(Duration timeout, byte[] stdin, String... cmd) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", name));
        c.addAll(List.of(cmd));
        return run(timeout, stdin, c);
    }

    /** Runs {@code cmd} inside the namespace and fails with its output unless it exits 0 in time. */
    public String mustExec(Duration timeout, String... cmd) {
        Result r = exec(timeout, cmd);
        if (!r.ok()) throw new AssertionError("in " + name + ": " + String.join(" ", cmd) + " -> " + r);
        return r.output();
    }

    /** Runs {@code ip -n NS args...} and fails unless it succeeds. */
    public String ip(String... args) {
        List<String> c = new ArrayList<>(List.of("ip", "-n", name));
        c.addAll(List.of(args));
        Result r = run(SHORT, null, c);
        if (!r.ok()) throw new AssertionError(String.join(" ", c) + " -> " + r);
        return r.output();
    }

    public static String mustRun(Duration timeout, String... cmd) {
        Result r = run(timeout, null, List.of(cmd));
        if (!r.ok()) throw new AssertionError(String.join(" ", cmd) + " -> " + r);
        return r.output();
    }

    /**
     * Runs a command with a bounded wait. On timeout the process (which this test started) is killed
     * through its handle.
     */
    public static Result run(Duration timeout, byte[] stdin, List<String> cmd) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", cmd), e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread pump = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            } catch (IOException ignored) {
                // the process is gone; keep what was read
            }
        });
        Thread feeder = Thread.ofVirtual().start(() -> {
            try (OutputStream o = p.getOutputStream()) {
                if (stdin != null) o.write(stdin);
            } catch (IOException ignored) {
                // the command did not read all its input
            }
        });
        boolean timedOut;
        try {
            timedOut = !p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (timedOut) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            pump.join(5000);
            feeder.join(1000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + String.join(" ", cmd));
        }
        String text;
        synchronized (out) {
            text = out.toString(StandardCharsets.UTF_8);
        }
        return new Result(timedOut ? -1 : p.exitValue(), text, timedOut);
    }

    /** Deletes the registered devices and the namespace; never throws (it runs after failures). */
    @Override public void close() {
        if (closed) return;
        closed = true;
        for (String d : devices) {
            run(SHORT, null, List.of("ip", "-n", name, "link", "del", d));
            if (run(SHORT, null, List.of("ip", "link", "show", d)).ok()) run(SHORT, null, List.of("ip", "link", "del", d));
        }
        run(SHORT, null, List.of("ip", "netns", "del", name));
    }

    /** Whether the namespace still exists. */
    public boolean exists() {
        return run(SHORT, null, List.of("ip", "netns", "list")).output().lines().anyMatch(l -> l.split(" ")[0].equals(name));
    }

    @Override public String toString() { return name; }
}
