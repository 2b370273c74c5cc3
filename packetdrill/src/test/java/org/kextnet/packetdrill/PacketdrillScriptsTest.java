package org.kextnet.packetdrill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the scripts of {@code scripts/manifest.txt} through real packetdrill and the shim, each as a test that
 * holds the script to its expectation, and writes the results table (see {@link ResultsTable}). Then a few scripts
 * that must fail show that failures come as they should: at the line, with the reason, in bounded time.
 *
 * <p>Which scripts run: every {@code pass} line, always (CI runs them, so that none regresses); the {@code fail}
 * lines (known differences from Linux) only with {@code -Dpacketdrill.all=true} or
 * {@code -Dpacketdrill.updateDocs=true}, which runs everything the table shows. Scripts run
 * {@code -Dpacketdrill.parallel} at a time (default: 2, fewer on fewer cores), each a packetdrill process with
 * its own JVM and network namespace.
 *
 * <p>Needs gcc, make, bison, flex, patch, packetdrill's source and root; see {@link PacketdrillTool} for what
 * happens without them.
 */
class PacketdrillScriptsTest {
    /** Real time one script may take: a JVM start and virtual time make a script last about a second. */
    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static final boolean UPDATE_DOCS = Boolean.getBoolean("packetdrill.updateDocs");
    private static final boolean ALL = UPDATE_DOCS || Boolean.getBoolean("packetdrill.all");
    private static final int PARALLEL = Math.max(1, Integer.getInteger("packetdrill.parallel",
            Math.min(2, Runtime.getRuntime().availableProcessors())));

    private static PacketdrillTool tool;
    private static ExecutorService runner;
    private static final ResultsTable table = new ResultsTable();

    @BeforeAll static void build() throws Exception {
        tool = PacketdrillTool.prepare();
        runner = Executors.newFixedThreadPool(PARALLEL);
    }

    @TestFactory Stream<DynamicTest> manifestScripts() throws Exception {
        List<Manifest.Entry> entries = Manifest.read(tool.scripts.resolve("manifest.txt"),
                Files.isDirectory(tool.linuxScripts) ? tool.linuxScripts : null);
        entries.stream().filter(e -> !runs(e)).forEach(e -> table.add(e, null));
        // every script starts now, PARALLEL at a time; each test waits for its own
        List<Run> runs = entries.stream().filter(PacketdrillScriptsTest::runs).map(Run::new).toList();
        return runs.stream().map(r -> DynamicTest.dynamicTest(r.entry.name(), () -> check(r)));
    }

    private static boolean runs(Manifest.Entry e) {
        return e.expect() == Manifest.Expect.PASS || e.expect() == Manifest.Expect.FAIL && ALL;
    }

    /** One script's run, started on the runner when made. */
    private static final class Run {
        final Manifest.Entry entry;
        final CompletableFuture<PacketdrillTool.Result> result;

        Run(Manifest.Entry e) {
            this.entry = e;
            this.result = e.external() && !tool.isolates() ? null : CompletableFuture.supplyAsync(() -> {
                try {
                    return tool.run(e.script(), LIMIT, e.external());
                } catch (Exception x) {
                    throw new IllegalStateException(x);
                }
            }, runner);
        }
    }

    private static void check(Run run) throws Exception {
        Manifest.Entry e = run.entry;
        if (run.result == null) { // packetdrill's own scripts change sysctls: never outside a namespace of their own
            String why = e.name() + " needs a network namespace of its own (unshare --net and ip tuntap)";
            if (PacketdrillTool.inCi()) fail(why);
            assumeTrue(false, why);
        }
        PacketdrillTool.Result r = run.result.get();
        table.add(e, r);
        assertThat(r.timedOut()).as("%s ran out of real time:%n%s", e.name(), r.output()).isFalse();
        if (e.expect() == Manifest.Expect.PASS) {
            assertThat(r.passed()).as("%s failed: %s%n%s", e.name(), r.reason(), r.output()).isTrue();
        } else {
            assertThat(r.passed()).as("%s passes now: mark it 'pass' in scripts/manifest.txt (it was expected to fail: %s)",
                    e.name(), e.why()).isFalse();
        }
    }

    @Test void aPacketTheStackNeverSendsFailsTheScriptAtItsLine() throws Exception {
        PacketdrillTool.Result r = tool.run(failing("missing-packet.pkt"), LIMIT, false);
        assertThat(r.passed()).isFalse();
        assertThat(r.timedOut()).isFalse();
        assertThat(r.reason()).startsWith("line 9: error handling packet");
        // With no kernel timer pending nothing can ever leave the stack: netdev_receive gives up at once.
        assertThat(r.output()).contains("nothing left the stack and no kernel timer is pending");
    }

    @Test void aReadOnPacketdrillsMainThreadThatNothingCanCompleteFailsWithEintr() throws Exception {
        PacketdrillTool.Result r = tool.run(failing("main-thread-read.pkt"), LIMIT, false, "--so_flags=max_wait=30");
        assertThat(r.timedOut()).isFalse();
        assertThat(r.reason()).isEqualTo("line 7: runtime error in read call: Expected result 20 but got -1 with errno 4 (Interrupted system call)");
        assertThat(r.output()).containsPattern("read\\(\\d+\\) on packetdrill.s main thread would block forever");
    }

    @Test void packetTimesAreCheckedOnTheKernelsClock() throws Exception {
        PacketdrillTool.Result r = tool.run(failing("late-answer.pkt"), LIMIT, false);
        assertThat(r.passed()).isFalse();
        assertThat(r.reason()).startsWith("line 7: error handling packet: timing error: expected outbound packet at 0.200");
    }

    @AfterAll static void writeTable() throws Exception {
        if (runner != null) runner.shutdownNow();
        if (tool == null) return;
        table.write(tool.module.resolve("target/packetdrill/results.md"));
        if (UPDATE_DOCS) table.writeInto(tool.module.resolveSibling("docs/packetdrill.md"));
    }

    private static java.nio.file.Path failing(String name) {
        return tool.module.resolve("src/test/resources/failing").resolve(name);
    }
}
