package org.kextnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kextnet} command: every tool of the project as a subcommand. */
@Command(name = "kextnet", mixinStandardHelpOptions = true, version = "kextnet 0.1.0",
        description = "A network kernel for the JVM whose networking can be extended while it runs.",
        subcommands = {RunCommand.class, KernLoaderCommand.class, KlUtilCommand.class, PortCommand.class, CtlCommand.class, AdminCommand.class, CommandLine.HelpCommand.class})
public final class Kextnet {
    public static void main(String[] args) {
        int fast = args.length > 0 && args[0].equals("kl_util") ? KlUtil.fastMain(args) : -1; // no picocli start-up cost
        System.exit(fast >= 0 ? fast : commandLine().execute(args));
    }

    /** The command line with every subcommand registered (tests execute it in-process). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Kextnet());
        // "admin netstat -k": the kernel command's own options are words of its line, not kextnet's options.
        cl.getSubcommands().get("admin").setUnmatchedOptionsArePositionalParams(true);
        return cl;
    }
}
