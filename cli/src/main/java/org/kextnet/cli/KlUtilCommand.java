package org.kextnet.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;


import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kl_util}: drives kern_loader over its socket. The operations are exclusive; {@code -L} combines with
 * them. Commands other than {@code -s} and {@code -k} print kern_loader's status strings as they arrive, then
 * ping, and exit after the ping's answer. The exit status is 0, the kern_loader code of the last failure
 * (101–129), or 1 if kern_loader cannot be reached or goes away.
 */
@Command(name = "kl_util", mixinStandardHelpOptions = true,
        description = {"Kernel server loader utility (docs/kern_loader.md).",
                "A failure exits with the kern_loader code of the last one (101-129)."})
public final class KlUtilCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Op op = new Op();

    static final class Op {
        @Option(names = "-s", description = "Status: every server, or a detailed block per named server (the default).") boolean status;
        @Option(names = "-l", description = "Load the named servers now.") boolean load;
        @Option(names = "-u", description = "Unload the named servers (they stay allocated).") boolean unload;
        @Option(names = "-a", description = "Add (allocate) the servers of the named scripts.") boolean add;
        @Option(names = "-d", description = "Delete (deallocate) the named servers.") boolean delete;
        @Option(names = "-A", description = "Abort: unload and deallocate everything, and make kern_loader exit.") boolean abort;
        @Option(names = "-r", description = "Restart: deallocate everything and re-read the configuration.") boolean restart;
        @Option(names = {"-k", "--kextstat"}, description = "A kextstat-like table of every server.") boolean kextstat;
    }

    @Option(names = "-L", description = "Listen: print everything kern_loader logs, until interrupted or until kern_loader goes away (exit status 1).")
    boolean listen;

    @Option(names = {"-j", "--json"}, description = "With -s or -k: print one JSON document (docs/kern_loader.md, \"JSON\").")
    boolean json;

    @Option(names = "--socket", paramLabel = "PATH", description = "kern_loader's socket (default: $KEXTNET_SOCKET, /run/kextnet/kern_loader.sock for root).")
    Path socket;

    @Parameters(paramLabel = "NAME", description = "Server names (scripts for -a).")
    List<String> names = new ArrayList<>();

    @Override public Integer call() {
        long t0 = System.nanoTime();
        try {
            char c = op.load ? 'l' : op.unload ? 'u' : op.add ? 'a' : op.delete ? 'd' : op.abort ? 'A' : op.restart ? 'r' : op.kextstat ? 'k' : 's';
            return new KlUtil(spec.commandLine().getOut(), spec.commandLine().getErr()).run(c, names, listen, json, LoaderSocket.orDefault(socket));
        } finally {
            // KEXTNET_TIMING=1: the command's own work, for scripts/bench-kern_loader.sh.
            if (System.getenv("KEXTNET_TIMING") != null) System.err.println("kl_util: work " + (System.nanoTime() - t0) / 1000 + " us");
        }
    }
}
