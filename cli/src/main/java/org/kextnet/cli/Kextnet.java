package org.kextnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kextnet} command: every tool of the project as a subcommand. */
@Command(name = "kextnet", mixinStandardHelpOptions = true, version = "kextnet 0.1.0",
        description = "A network kernel for the JVM whose networking can be extended while it runs.",
        subcommands = {RunCommand.class, KernLoaderCommand.class, KlUtilCommand.class, PortCommand.class, CtlCommand.class, TcplogCommand.class, AdminCommand.class, FirewallCommand.class, TcpdumpCommand.class, NewCommand.class, CommandLine.HelpCommand.class})
public final class Kextnet {
    /**
     * Runs a command. No method of this class may name a picocli type in its signature: the launcher resolves every
     * method signature of the main class, and {@code picocli.CommandLine} would load (and its jar open) before the
     * kl_util fast path, which does without picocli.
     */
    public static void main(String[] args) {
        long t0 = System.nanoTime();
        int fast = args.length > 0 && args[0].equals("kl_util") ? KlUtil.fastMain(args, t0) : -1; // no picocli start-up cost
        if (fast >= 0) {
            // Everything is printed and flushed, and the fast path registers no shutdown hook: halt, because
            // System.exit would first look up a System.Logger for its exit log (a service-loader scan of every jar on
            // the class path, ~25 ms in a fresh JVM).
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(fast);
        }
        System.exit(Commands.commandLine().execute(args));
    }
}
