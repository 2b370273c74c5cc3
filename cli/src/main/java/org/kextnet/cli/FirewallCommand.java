package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code kextnet firewall}: the firewall sample's rule set (examples/firewall), through its kernel control in
 * kern_loader's kernel, as {@code kextnet ctl} reaches any control. The rule syntax is in docs/samples.md.
 */
@Command(name = "firewall", mixinStandardHelpOptions = true,
        description = {"Show and replace the rule set of the firewall sample (docs/samples.md) through its kernel control.",
                "Connecting loads the sample if kern_loader has it allocated.",
                "A rule set with a mistake (EINVAL: nothing changes) or no firewall control (ENOENT) exits 3."},
        subcommands = {FirewallCommand.Show.class, FirewallCommand.Load.class, FirewallCommand.Check.class,
                FirewallCommand.Flush.class, FirewallCommand.Zero.class})
public final class FirewallCommand {
    /** The control's name and the largest reply (a set of 10,000 rules with its counters). */
    static final String CONTROL = "firewall";
    static final int MAX_TEXT = 1 << 20;
    /** "EINVAL: line 3: what is wrong", the firewall's refusal of a rule set. */
    private static final Pattern REFUSAL = Pattern.compile("(E[A-Z]+): line (\\d+): (.*)", Pattern.DOTALL);

    @Option(names = "--socket", paramLabel = "PATH", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "kern_loader's socket (default: $KEXTNET_SOCKET, /run/kextnet/kern_loader.sock for root).")
    Path socket;

    @Option(names = "--timeout", defaultValue = "5000", paramLabel = "MS", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Longest wait for the firewall's reply (default: ${DEFAULT-VALUE}).")
    long timeout;

    /**
     * Sends one command to the firewall and prints its reply; a refusal goes to stderr, with {@code source}
     * (the rule file) and the line it names, and exits {@link ExitCodes#KERNEL_REFUSED}.
     */
    int ask(CommandSpec spec, String what, String message, String source) {
        return CtlCommand.withClient(spec, socket, "firewall " + what, (c, out) -> {
            try (ControlClient ctl = c.connectControl(CONTROL, 0)) {
                int errno = ctl.send(ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)), 0);
                if (errno != 0) throw new KpiException(errno, what + " to " + CONTROL + " failed");
                ByteBuffer b = ByteBuffer.allocate(MAX_TEXT);
                int n = ctl.receive(b, timeout, TimeUnit.MILLISECONDS);
                if (n <= 0) throw new KpiException(n == 0 ? Errno.ETIMEDOUT : Errno.ENOTCONN, "no reply from " + CONTROL);
                String reply = new String(b.array(), 0, n, StandardCharsets.UTF_8);
                if (reply.startsWith("error: ")) return refused(spec.commandLine().getErr(), what, reply.substring(7), source);
                out.print(reply.endsWith("\n") ? reply : reply + "\n");
                return 0;
            }
        });
    }

    private static int refused(PrintWriter err, String what, String why, String source) {
        Matcher m = REFUSAL.matcher(why);
        if (source != null && m.matches()) err.println("firewall " + what + ": " + source + ":" + m.group(2) + ": " + m.group(3) + " (" + m.group(1) + ")");
        else err.println("firewall " + what + ": " + why);
        err.flush();
        return ExitCodes.KERNEL_REFUSED;
    }

    /** A rule file's text, or stdin's for "-"; null (and a message) if it cannot be read. */
    static String rules(CommandSpec spec, String what, String file) {
        try {
            byte[] b = file.equals("-") ? System.in.readNBytes(MAX_TEXT + 1) : Files.readAllBytes(Path.of(file));
            if (b.length > MAX_TEXT) throw new IOException("larger than " + MAX_TEXT + " bytes");
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            spec.commandLine().getErr().println("firewall " + what + ": " + file + ": " + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()));
            spec.commandLine().getErr().flush();
            return null;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Print the rule set with each rule's packet and byte counters (load reads it back).")
    static final class Show implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand FirewallCommand parent;

        @Override public Integer call() { return parent.ask(spec, "show", "show", null); }
    }

    /** load and check: a rule file sent whole, under the command's verb. */
    abstract static class WithRules implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand FirewallCommand parent;
        @Parameters(index = "0", paramLabel = "FILE") String file;

        abstract String verb();

        @Override public Integer call() {
            String text = rules(spec, verb(), file);
            return text == null ? 1 : parent.ask(spec, verb(), verb() + "\n" + text, file);
        }
    }

    @Command(name = "load", mixinStandardHelpOptions = true,
            description = {"Replace the whole rule set with the rules in FILE (- for stdin).",
                    "A set with a mistake is refused whole, naming its line, and the old set stays."})
    static final class Load extends WithRules {
        @Override String verb() { return "load"; }
    }

    @Command(name = "check", mixinStandardHelpOptions = true, description = "Read the rules in FILE (- for stdin) and say what is wrong; changes nothing.")
    static final class Check extends WithRules {
        @Override String verb() { return "check"; }
    }

    @Command(name = "flush", mixinStandardHelpOptions = true, description = "Replace the rule set with an empty one (everything allowed).")
    static final class Flush implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand FirewallCommand parent;

        @Override public Integer call() { return parent.ask(spec, "flush", "flush", null); }
    }

    @Command(name = "zero", mixinStandardHelpOptions = true, description = "Set the counters back to zero; the rules stay.")
    static final class Zero implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand FirewallCommand parent;

        @Override public Integer call() { return parent.ask(spec, "zero", "zero", null); }
    }
}
