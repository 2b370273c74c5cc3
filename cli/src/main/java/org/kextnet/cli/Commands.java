package org.kextnet.cli;

import picocli.CommandLine;

/** The {@code kextnet} command line ({@link Kextnet} and its subcommands), apart from the main class. */
public final class Commands {
    private Commands() {}

    /** The command line with every subcommand registered (tests execute it in-process). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Kextnet());
        // "admin netstat -k": the kernel command's own options are words of its line, not kextnet's options.
        cl.getSubcommands().get("admin").setUnmatchedOptionsArePositionalParams(true);
        return cl;
    }
}
