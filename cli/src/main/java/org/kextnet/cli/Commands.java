package org.kextnet.cli;

import java.util.ArrayList;
import java.util.List;

import picocli.CommandLine;

/** The {@code kextnet} command line ({@link Kextnet} and its subcommands), apart from the main class. */
public final class Commands {
    private Commands() {}

    /**
     * The commands the launcher (./kextnet) runs itself, without the JVM: listed by {@code kextnet help} with the
     * others, so that help names every command.
     */
    static final String[] LAUNCHER_COMMANDS = {"", "Commands of the launcher (./kextnet):",
            "  test         Every test (mvn verify; Maven's arguments follow).",
            "  build        (Re)build the distribution, cli/target/dist.",
            "  bench        The JMH benchmarks (JMH's arguments follow)."};

    /** The command line with every subcommand registered (tests execute it in-process). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Kextnet());
        // "admin netstat -k": the kernel command's own options are words of its line, not kextnet's options.
        cl.getSubcommands().get("admin").setUnmatchedOptionsArePositionalParams(true);
        // Every command's --help ends with the exit statuses, which mean the same for all (ExitCodes).
        cl.getCommandSpec().usageMessage().footer(LAUNCHER_COMMANDS);
        footer(cl);
        // A mistake on the command line: said once, on stderr, with where to look (not the whole usage), and exit 2.
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println(name(cmd) + ": " + e.getMessage());
            cmd.getErr().println("Try '" + name(cmd) + " --help' for more information.");
            cmd.getErr().flush();
            return ExitCodes.USAGE;
        });
        // An exception a command did not handle: one line on stderr naming the command, not a stack trace, and exit 1.
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println(name(cmd) + ": " + e);
            cmd.getErr().flush();
            return ExitCodes.FAILED;
        });
        return cl;
    }

    /** "kextnet kl_util", "kextnet ctl send": the command's full name. */
    private static String name(CommandLine cmd) {
        return cmd.getCommandSpec().qualifiedName(" ");
    }

    /** Appends the exit statuses to the footer of {@code cl} and of every command under it, after its own (an example). */
    private static void footer(CommandLine cl) {
        List<String> all = new ArrayList<>(List.of(cl.getCommandSpec().usageMessage().footer()));
        all.addAll(List.of(ExitCodes.FOOTER)); // it starts with a blank line
        cl.getCommandSpec().usageMessage().footer(all.toArray(String[]::new));
        for (CommandLine sub : cl.getSubcommands().values()) footer(sub);
    }
}
