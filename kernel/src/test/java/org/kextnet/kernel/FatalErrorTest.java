package org.kextnet.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.LinkLayer;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.sync.KernelThreads;
import org.kextnet.kernel.sync.Timeout;

/**
 * No half-dead process: an error that escapes kernel code on one of the kernel's threads (a driver's reader, the
 * timer) never leaves the process alive without that thread. It goes to the kernel's fatal-error handler; by
 * default the process's uncaught-exception handler if it has one (kern_loader's), else the process exits with
 * status 70 and a line naming the error and the thread. An error in an extension's code is the extension's fault
 * and stays contained (the heads' tests show that).
 */
class FatalErrorTest {
    @TempDir Path dir;

    @Test void anErrorOnTheTimerThreadOrAReaderGoesToTheKernelsFatalErrorHandler() throws Exception {
        try (Kernel k = new Kernel("fatal", new Buffers(256, 4))) {
            List<String> fatal = new CopyOnWriteArrayList<>();
            k.onFatalError((t, e) -> fatal.add(t.getName() + ": " + e));
            // A RuntimeException in a kernel timeout is a bug that costs that timeout only: logged, the timer goes on.
            k.timers().scheduleAfter(new Timeout((t, now) -> { throw new IllegalStateException("one timeout's bug"); }), 0);
            Timeout later = new Timeout((t, now) -> fatal.add("the timer went on"));
            k.timers().scheduleAfter(later, TimeUnit.MILLISECONDS.toNanos(5));
            await(() -> fatal.contains("the timer went on"));
            // An Error does not stay on the thread: it goes to the handler.
            k.timers().scheduleAfter(new Timeout((t, now) -> { throw new OutOfMemoryError("Java heap space"); }), 0);
            await(() -> fatal.size() == 2);
            assertThat(fatal.get(1)).isEqualTo("kextnet-fatal-timer: java.lang.OutOfMemoryError: Java heap space");

            MemoryWire wire = new MemoryWire("bad0", MemoryWire.Options.perfect());
            LinkLayer broken = new LinkLayer() {
                @Override public void input(PacketContext ctx, Interface ifp, Packet m) { throw new StackOverflowError(); }
                @Override public void output(PacketContext ctx, Interface ifp, Packet m, long destination, int type) { m.free(); }
                @Override public int frame(PacketContext ctx, Interface ifp, Packet m, org.kextnet.kpi.net.FrameInfo f) { return 0; }
                @Override public int headerLength() { return 0; }
            };
            Interface ifp = k.interfaceTable().attach(k.interfaceTable().create("bad0", IfFamily.TUN, wire.a(), 0, 1500, broken));
            ifp.up();
            Packet m = k.buffers().alloc();
            m.setLength(20);
            wire.a().inject(m);
            await(() -> fatal.size() == 3);
            assertThat(fatal.get(2)).isEqualTo("kextnet-fatal-bad0: java.lang.StackOverflowError");
        }
    }

    /** The process a kernel runs in, when nothing else says what to do: it exits 70 with the reason. */
    public static final class Dies {
        public static void main(String[] args) throws Exception {
            if (args.length > 0 && args[0].equals("delegate")) {
                Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
                    System.err.println("the daemon's handler: " + e + " in " + t.getName());
                    Runtime.getRuntime().halt(71);
                });
            }
            Kernel k = new Kernel("doomed", new Buffers(64, 2));
            k.timers().scheduleAfter(new Timeout((t, now) -> { throw new OutOfMemoryError("Java heap space"); }), 0);
            Thread.sleep(30_000);
            System.err.println("still alive");
            System.exit(0);
        }
    }

    private Process run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Dies.class.getName()));
        cmd.addAll(List.of(args));
        File err = dir.resolve("err-" + args.length + ".txt").toFile();
        return new ProcessBuilder(cmd).redirectError(err).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    @Test void withNothingElseSaidTheProcessExits70NamingTheErrorAndTheThread() throws Exception {
        Process p = run();
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the process ended").isTrue();
            String err = Files.readString(dir.resolve("err-0.txt"));
            assertThat(p.exitValue()).as(err).isEqualTo(KernelThreads.FATAL_STATUS);
            assertThat(err).startsWith("kextnet: fatal: java.lang.OutOfMemoryError: Java heap space in kernel thread kextnet-doomed-timer;"
                    + " exiting with status 70 so that a supervisor can restart the process").doesNotContain("still alive");
        } finally {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test void aProcessWithAnUncaughtExceptionHandlerOfItsOwnGetsTheError() throws Exception {
        Process p = run("delegate");
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the process ended").isTrue();
            String err = Files.readString(dir.resolve("err-1.txt"));
            assertThat(p.exitValue()).as(err).isEqualTo(71);
            assertThat(err).contains("the daemon's handler: java.lang.OutOfMemoryError: Java heap space in kextnet-doomed-timer");
        } finally {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static void await(java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) throw new AssertionError("timed out");
            Thread.sleep(2);
        }
    }
}
