package org.kextnet.packetdrill;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every script of {@code scripts/manifest.txt} through real packetdrill and the shim, each as a test that
 * holds the script to its expectation, and writes the results table (see {@link ResultsTable}). Then a few scripts
 * that must fail show that failures come as they should: at the line, with the reason, in bounded time.
 *
 * <p>Needs gcc, make, bison, flex, packetdrill's source and root; see {@link PacketdrillTool} for what happens
 * without them.
 */
class PacketdrillScriptsTest {
    /** Real time one script may take: a JVM start and virtual time make a script last about a second. */
    private static final Duration LIMIT = Duration.ofSeconds(120);

    private static PacketdrillTool tool;
    private static final ResultsTable table = new ResultsTable();

    @BeforeAll static void build() throws Exception {
        tool = PacketdrillTool.prepare();
    }

    @TestFactory Stream<DynamicTest> manifestScripts() throws Exception {
        Path source = Files.isDirectory(tool.source) ? tool.source : null;
        List<Manifest.Entry> entries = Manifest.read(tool.scripts.resolve("manifest.txt"), source);
        entries.stream().filter(e -> !e.expect().runs()).forEach(e -> table.add(e, null));
        return entries.stream().filter(e -> e.expect().runs()).map(e -> DynamicTest.dynamicTest(e.name(), () -> {
            PacketdrillTool.Result r = tool.run(e.script(), LIMIT);
            table.add(e, r);
            assertThat(r.timedOut()).as("%s ran out of real time:%n%s", e.name(), r.output()).isFalse();
            if (e.expect() == Manifest.Expect.PASS) {
                assertThat(r.passed()).as("%s failed: %s%n%s", e.name(), r.reason(), r.output()).isTrue();
            } else {
                assertThat(r.passed()).as("%s passes now: mark it 'pass' in scripts/manifest.txt (it was expected to fail: %s)",
                        e.name(), e.why()).isFalse();
            }
        }));
    }

    @Test void aPacketTheStackNeverSendsFailsTheScriptAtItsLine() throws Exception {
        PacketdrillTool.Result r = tool.run(failing("missing-packet.pkt"), LIMIT);
        assertThat(r.passed()).isFalse();
        assertThat(r.timedOut()).isFalse();
        assertThat(r.reason()).startsWith("line 9: error handling packet");
        // With no kernel timer pending nothing can ever leave the stack: netdev_receive gives up at once.
        assertThat(r.output()).contains("nothing left the stack and no kernel timer is pending");
    }

    @Test void aReadOnPacketdrillsMainThreadThatNothingCanCompleteFailsWithEintr() throws Exception {
        PacketdrillTool.Result r = tool.run(failing("main-thread-read.pkt"), LIMIT, "--so_flags=max_wait=30");
        assertThat(r.timedOut()).isFalse();
        assertThat(r.reason()).isEqualTo("line 7: runtime error in read call: Expected result 20 but got -1 with errno 4 (Interrupted system call)");
        assertThat(r.output()).containsPattern("read\\(\\d+\\) on packetdrill.s main thread would block forever");
    }

    @Test void packetTimesAreCheckedOnTheKernelsClock() throws Exception {
        PacketdrillTool.Result r = tool.run(failing("late-answer.pkt"), LIMIT);
        assertThat(r.passed()).isFalse();
        assertThat(r.reason()).startsWith("line 7: error handling packet: timing error: expected outbound packet at 0.200");
    }

    @AfterAll static void writeTable() throws Exception {
        if (tool == null) return;
        table.write(tool.module.resolve("target/packetdrill/results.md"));
        if (Boolean.getBoolean("packetdrill.updateDocs")) table.writeInto(tool.module.resolveSibling("docs/packetdrill.md"));
    }

    private static Path failing(String name) {
        return tool.module.resolve("src/test/resources/failing").resolve(name);
    }
}
