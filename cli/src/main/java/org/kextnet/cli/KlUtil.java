package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.LogHub;
import org.kextnet.loader.StatusFormat;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.KernLoaderQuery;
import org.kextnet.loader.rpc.ServerStatus;

/**
 * What kl_util does, apart from parsing its command line: {@link KlUtilCommand} (picocli, with help) and
 * {@link #fastMain} (getopt-style, without picocli, so that {@code kl_util -s} costs little beyond JVM start) both
 * run it. {@code -s} and {@code -k} without {@code -L} go through {@link KernLoaderQuery} over
 * {@link LoaderSocket#connect} (the JNI socket when it loads): in a fresh JVM that path loads few classes and
 * starts no thread. The other operations, and {@code -L}, use {@link KernLoaderClient} for its log events.
 */
final class KlUtil {
    /** One kl_util invocation: the operation letter ('s', 'l', 'u', 'a', 'd', 'A', 'r', 'k'), names, -L, the socket. */
    record Request(char op, List<String> names, boolean listen, Path socket) {}

    private final PrintWriter out, err;
    private int status;

    KlUtil(PrintWriter out, PrintWriter err) {
        this.out = out;
        this.err = err;
    }

    /**
     * The fast path for {@code kextnet kl_util ...}: parses the original getopt options (plus -k and --socket).
     * @param t0 {@code System.nanoTime()} at main's entry, for {@code KEXTNET_TIMING}
     * @return the exit status, or -1 when the arguments need picocli (help, or something it should report)
     */
    static int fastMain(String[] args, long t0) {
        char op = 0;
        boolean listen = false;
        Path socket = null;
        List<String> names = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--socket=")) socket = Path.of(a.substring(9));
            else if (a.equals("--socket") && i + 1 < args.length) socket = Path.of(args[++i]);
            else if (a.startsWith("-") && a.length() > 1 && !a.startsWith("--")) {
                for (int k = 1; k < a.length(); k++) {
                    char c = a.charAt(k);
                    if (c == 'L') listen = true;
                    else if ("sludaArk".indexOf(c) >= 0 && (op == 0 || op == c)) op = c;
                    else return -1; // unknown or conflicting: let picocli explain
                }
            } else if (a.startsWith("-")) return -1;
            else names.add(a);
        }
        PrintWriter out = new PrintWriter(System.out, false);
        PrintWriter err = new PrintWriter(System.err, true);
        int rc = new KlUtil(out, err).run(new Request(op == 0 ? 's' : op, names, listen, LoaderSocket.orDefault(socket)));
        out.flush();
        long t1 = System.nanoTime(); // the last byte of output is written
        // KEXTNET_TIMING=1: the command's own work, from main's first statement to here (scripts/bench-kern_loader.sh).
        if (System.getenv("KEXTNET_TIMING") != null) err.println("kl_util: work " + (t1 - t0) / 1000 + " us");
        return rc;
    }

    int run(Request q) {
        char op = q.op();
        if ((op == 's' || op == 'k') && !q.listen()) return query(q);
        KernLoaderClient c;
        try {
            c = KernLoaderClient.connect(q.socket());
        } catch (IOException | LoaderException e) {
            return inactive(q, e);
        }
        boolean mutating = "luadAr".indexOf(op) >= 0;
        try (c) {
            if (mutating || q.listen()) {
                c.onLog(new Printer(out));
                c.log(true);
            }
            if ("luad".indexOf(op) >= 0 && q.names().isEmpty()) {
                err.println("kl_util: name a server" + (op == 'a' ? " script" : ""));
                return 2;
            }
            for (String n : op == 'A' || op == 'r' || op == 's' || op == 'k' ? List.of("") : q.names()) {
                try {
                    switch (op) {
                        case 'l' -> c.load(n);
                        case 'u' -> c.unload(n);
                        case 'd' -> c.delete(n);
                        case 'a' -> c.add(Path.of(n).toAbsolutePath());
                        case 'A', 'r' -> { for (LoaderException e : c.abort(op == 'r')) report(e); }
                        default -> status(c, op, q.names());
                    }
                } catch (LoaderException e) {
                    report(e);
                }
            }
            if (mutating && op != 'A') c.ping(); // every status string has arrived
            out.flush();
            if (q.listen()) new CountDownLatch(1).await(); // until interrupted
        } catch (IOException e) {
            if (op != 'A') {
                err.println("kl_util: lost kern_loader: " + e.getMessage());
                status = 1;
            }
        } catch (LoaderException e) {
            report(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        out.flush();
        return status;
    }

    /** {@code -s} and {@code -k} without {@code -L}: one connection, no thread, no log subscription. */
    private int query(Request q) {
        KernLoaderQuery c;
        try {
            c = KernLoaderQuery.open(LoaderSocket.connect(q.socket()), q.socket());
        } catch (IOException | LoaderException e) {
            return inactive(q, e);
        }
        try (c) {
            status(c, q.op(), q.names());
        } catch (IOException e) {
            err.println("kl_util: lost kern_loader: " + e.getMessage());
            status = 1;
        } catch (LoaderException e) {
            report(e);
        }
        out.flush();
        return status;
    }

    private int inactive(Request q, Exception e) {
        err.println("kl_util: kernel loader inactive (" + q.socket() + ": " + e.getMessage() + ")");
        return 1;
    }

    /** {@code -k}: the table; {@code -s}: the summary, or each named server's block. */
    private void status(ServerStatus c, char op, List<String> names) throws IOException, LoaderException {
        if (op == 'k') {
            out.print(StatusFormat.kextstat(c.list()));
            return;
        }
        if (names.isEmpty()) {
            out.print(StatusFormat.summary(c.list()));
            return;
        }
        for (String n : names) {
            try {
                out.print(StatusFormat.detail(c.info(n)));
            } catch (LoaderException e) {
                report(e);
            }
        }
    }

    private void report(LoaderException e) {
        out.flush();
        err.println("kl_util: " + e.getMessage() + ": " + LoaderError.describe(e.code()));
        err.flush();
        status = e.code();
    }

    /** Prints kern_loader's status strings as they arrive (on the client's reader thread). */
    private record Printer(PrintWriter out) implements Consumer<LogHub.Line> {
        @Override public void accept(LogHub.Line l) {
            synchronized (out) {
                out.println(l.text());
                out.flush();
            }
        }
    }
}
