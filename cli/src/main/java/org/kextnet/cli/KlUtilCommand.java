package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.ServerInfo;
import org.kextnet.loader.StatusFormat;
import org.kextnet.loader.rpc.KernLoaderClient;

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
 * (101–127), or 1 if kern_loader cannot be reached.
 */
@Command(name = "kl_util", mixinStandardHelpOptions = true,
        description = {"Kernel server loader utility (docs/kern_loader.md).",
                "Exit status: 0, the kern_loader error code of the last failure (101-127), or 1 if kern_loader is not running."})
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

    @Option(names = "-L", description = "Listen: print everything kern_loader logs until interrupted.")
    boolean listen;

    @Option(names = "--socket", paramLabel = "PATH", description = "kern_loader's socket (default: $KEXTNET_SOCKET, /run/kextnet/kern_loader.sock for root).")
    Path socket;

    @Parameters(paramLabel = "NAME", description = "Server names (scripts for -a).")
    List<String> names = new ArrayList<>();

    private int status;

    @Override public Integer call() throws Exception {
        long t0 = System.nanoTime();
        try {
            return execute();
        } finally {
            // KEXTNET_TIMING=1: the command's own work, for scripts/bench-kern_loader.sh.
            if (System.getenv("KEXTNET_TIMING") != null) System.err.printf("kl_util: work %.2f ms%n", (System.nanoTime() - t0) / 1e6);
        }
    }

    private int execute() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path sock = LoaderSocket.orDefault(socket);
        KernLoaderClient c;
        try {
            c = KernLoaderClient.connect(sock);
        } catch (IOException e) {
            err.println("kl_util: kernel loader inactive (" + sock + ": " + e.getMessage() + ")");
            err.flush();
            return 1;
        }
        try (c) {
            boolean mutating = op.load || op.unload || op.add || op.delete || op.abort || op.restart;
            if (mutating || listen) {
                c.onLog(l -> {
                    synchronized (out) {
                        out.println(l.text());
                        out.flush();
                    }
                });
                c.log(true);
            }
            if ((op.load || op.unload || op.add || op.delete) && names.isEmpty()) {
                err.println("kl_util: name a server" + (op.add ? " script" : ""));
                err.flush();
                return 2;
            }
            if (op.kextstat) {
                out.print(StatusFormat.kextstat(c.list()));
            } else if (op.load) {
                for (String n : names) run(err, n, () -> c.load(n));
            } else if (op.unload) {
                for (String n : names) run(err, n, () -> c.unload(n));
            } else if (op.delete) {
                for (String n : names) run(err, n, () -> c.delete(n));
            } else if (op.add) {
                for (String n : names) run(err, n, () -> c.add(Path.of(n).toAbsolutePath()));
            } else if (op.abort || op.restart) {
                run(err, op.abort ? "abort" : "restart", () -> {
                    for (LoaderException e : c.abort(op.restart)) report(err, e);
                });
            } else if (!listen || op.status || !names.isEmpty()) {
                status(c, out, err);
            }
            if (mutating && !op.abort) c.ping(); // every status string has arrived
            out.flush();
            if (listen) new CountDownLatch(1).await(); // until interrupted
        } catch (IOException e) {
            if (!op.abort) {
                err.println("kl_util: lost kern_loader: " + e.getMessage());
                status = 1;
            }
        }
        err.flush();
        return status;
    }

    private void status(KernLoaderClient c, PrintWriter out, PrintWriter err) throws IOException {
        if (names.isEmpty()) {
            try {
                out.print(StatusFormat.summary(c.list()));
            } catch (LoaderException e) {
                report(err, e);
            }
            return;
        }
        for (String n : names) {
            try {
                ServerInfo i = c.info(n);
                out.print(StatusFormat.detail(i));
            } catch (LoaderException e) {
                report(err, e);
            }
        }
    }

    interface Action {
        void run() throws IOException, LoaderException;
    }

    private void run(PrintWriter err, String what, Action a) throws IOException {
        try {
            a.run();
        } catch (LoaderException e) {
            report(err, e);
        }
    }

    private void report(PrintWriter err, LoaderException e) {
        err.println("kl_util: " + e.getMessage() + ": " + LoaderError.describe(e.code()));
        err.flush();
        status = e.code();
    }
}
