package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import picocli.CommandLine;

/**
 * The conventions every command keeps: help names every command, the launcher's too; each --help ends with the same
 * exit statuses, which do not collide; a mistake on the command line is said once, on stderr, and exits 2.
 */
class CommandsTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Commands.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test void helpListsEveryCommandAndTheLaunchersOwn() {
        Run help = run("help");
        assertThat(help.code()).isZero();
        assertThat(help.err()).isEmpty();
        List<String> listed = new ArrayList<>();
        for (String name : Commands.commandLine().getSubcommands().keySet()) {
            assertThat(help.out()).as(name).containsPattern("(?m)^  " + name + "\\b");
            listed.add(name);
        }
        assertThat(listed).contains("run", "kern_loader", "kl_util", "admin", "ctl", "port", "help");
        assertThat(help.out()).containsPattern("(?m)^  test +Every test \\(mvn verify").containsPattern("(?m)^  build +").containsPattern("(?m)^  bench +");
        assertThat(help.out()).contains("./kextnet");
        assertThat(run("--help").out()).isEqualTo(help.out());
    }

    @Test void everyCommandsHelpEndsWithTheExitStatuses() {
        List<CommandLine> all = new ArrayList<>();
        collect(Commands.commandLine(), all);
        String table = String.join("\n", ExitCodes.FOOTER).strip();
        for (CommandLine c : all) {
            String q = c.getCommandSpec().qualifiedName(" ");
            if (q.endsWith(" help")) continue;
            String usage = c.getUsageMessage(CommandLine.Help.Ansi.OFF);
            assertThat(usage.strip()).as(q).endsWith(table);
            assertThat(usage).as(q + ": the exit status is said once, in the footer").containsOnlyOnce("Exit status");
        }
        assertThat(all).hasSizeGreaterThan(15);
    }

    private static void collect(CommandLine c, List<CommandLine> into) {
        into.add(c);
        for (CommandLine s : c.getSubcommands().values()) collect(s, into);
    }

    @Test void exitStatusesDoNotCollide() throws Exception {
        Set<Integer> seen = new HashSet<>();
        for (Field f : ExitCodes.class.getDeclaredFields()) {
            if (f.getType() != int.class || !Modifier.isStatic(f.getModifiers())) continue;
            int v = f.getInt(null);
            assertThat(seen.add(v)).as(f.getName() + " = " + v + " is used once").isTrue();
            assertThat(v).as(f.getName() + " stays out of kern_loader's codes and the shells' 126-255").isBetween(0, 100);
        }
        for (org.kextnet.loader.LoaderError e : org.kextnet.loader.LoaderError.values()) {
            assertThat(seen).as(e.name()).doesNotContain(e.code());
            assertThat(e.code()).isBetween(101, 129);
        }
    }

    @Test void aMistakeOnTheCommandLineIsSaidOnceOnStderr() {
        Run r = run("kl_util", "--no-such-option");
        assertThat(r.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("kextnet kl_util: Unknown option: '--no-such-option'\n"
                + "Try 'kextnet kl_util --help' for more information.\n");
        Run missing = run("port", "send");
        assertThat(missing.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(missing.out()).isEmpty();
        assertThat(missing.err().lines()).hasSize(2).first().asString().startsWith("kextnet port send: Missing required parameter");
        Run unknown = run("nope");
        assertThat(unknown.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(unknown.err()).startsWith("kextnet: Unmatched argument at index 0: 'nope'");
    }

    @Test void anUnreachableDaemonIsOneLineOnStderr(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        String sock = dir.resolve("none.sock").toString();
        for (String[] args : new String[][] {{"kl_util", "--socket", sock, "-s"}, {"admin", "--socket", sock, "netstat"},
                {"ctl", "list", "--socket", sock}, {"port", "lookup", "--socket", sock, "x"}, {"kl_util", "--socket", sock, "-k", "-j"}}) {
            Run r = run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(ExitCodes.FAILED);
            assertThat(r.out()).as(String.join(" ", args)).isEmpty();
            assertThat(r.err().lines()).as(String.join(" ", args)).hasSize(1).first().asString().contains("kernel loader inactive (" + sock);
        }
    }
}
