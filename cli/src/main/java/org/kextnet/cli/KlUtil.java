package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.LogHub;
import org.kextnet.loader.StatusFormat;
import org.kextnet.loader.ServerInfo;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.KernLoaderQuery;
import org.kextnet.loader.rpc.Op;
import org.kextnet.loader.rpc.Request;
import org.kextnet.loader.rpc.RpcClient;

/**
 * What kl_util does, apart from parsing its command line: {@link KlUtilCommand} (picocli, with help) and
 * {@link #fastMain} (getopt-style, without picocli, so that {@code kl_util -s} costs little beyond JVM start) both
 * turn the options into an {@link Invocation}, the RPC {@link Request}s they stand for, and run it. {@code -s} and
 * {@code -k} without {@code -L} go through {@link KernLoaderQuery} over {@link LoaderSocket#connect} (the JNI socket
 * when it loads): in a fresh JVM that path loads few classes and starts no thread. The other operations, and
 * {@code -L}, use {@link KernLoaderClient} for its log events.
 */
final class KlUtil {
    /** How the results of LIST and INFO are printed: {@code -s}'s summary or {@code -k}'s table, or with {@code -j} as JSON. */
    enum Listing { SUMMARY, KEXTSTAT, JSON }

    /**
     * One kl_util invocation: the requests its options stand for, in order; how a listing is printed; -L; the socket.
     * A command whose requests change something (privileged ones) prints kern_loader's status strings as they
     * arrive and pings at the end.
     */
    record Invocation(List<Request<?>> requests, Listing listing, boolean listen, Path socket) {
        /**
         * The invocation for kl_util's option letter {@code op} ('s', 'k', 'l', 'u', 'a', 'd', 'A', 'r') and its
         * names (scripts for 'a', made absolute).
         * @throws IllegalArgumentException if {@code op} needs names and has none
         */
        static Invocation of(char op, List<String> names, boolean listen, Path socket) {
            return of(op, names, listen, false, socket);
        }

        /** As {@link #of(char, List, boolean, Path)}; {@code json} ({@code -j}) prints -s and -k as one JSON document. */
        static Invocation of(char op, List<String> names, boolean listen, boolean json, Path socket) {
            if ("luad".indexOf(op) >= 0 && names.isEmpty()) throw new IllegalArgumentException("name a server" + (op == 'a' ? " script" : ""));
            if (json && op != 's' && op != 'k') throw new IllegalArgumentException("-j goes with -s or -k");
            if (json && listen) throw new IllegalArgumentException("-j does not go with -L");
            List<Request<?>> q = new ArrayList<>();
            switch (op) {
                case 'k' -> q.add(new Request.ListServers());
                case 's' -> {
                    if (names.isEmpty()) q.add(new Request.ListServers());
                    for (String n : names) q.add(new Request.Info(n));
                }
                case 'l' -> { for (String n : names) q.add(new Request.Load(n)); }
                case 'u' -> { for (String n : names) q.add(new Request.Unload(n)); }
                case 'd' -> { for (String n : names) q.add(new Request.Delete(n)); }
                case 'a' -> { for (String n : names) q.add(new Request.Add(Path.of(n).toAbsolutePath().toString())); }
                case 'A', 'r' -> q.add(new Request.Abort(op == 'r'));
                default -> throw new IllegalArgumentException("unknown operation -" + op);
            }
            return new Invocation(List.copyOf(q), json ? Listing.JSON : op == 'k' ? Listing.KEXTSTAT : Listing.SUMMARY, listen, socket);
        }

        // Loops rather than streams: kl_util -s runs these in a fresh JVM, where a lambda's first use costs milliseconds.

        /** Only status requests: answered by the synchronous client, with no log subscription. */
        boolean readOnly() {
            for (Request<?> q : requests) if (q.op() != Op.LIST && q.op() != Op.INFO) return false;
            return true;
        }

        /** Requests that change something: their status strings are printed, then a ping waits for the last. */
        boolean mutating() {
            for (Request<?> q : requests) if (q.op().privileged()) return true;
            return false;
        }

        /** An abort without restart: the daemon exits after answering, so no ping follows and a lost connection is fine. */
        boolean exits() {
            for (Request<?> q : requests) if (q instanceof Request.Abort a && !a.restart()) return true;
            return false;
        }
    }

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
        boolean listen = false, json = false;
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
                    else if (c == 'j') json = true;
                    else if ("sludaArk".indexOf(c) >= 0 && (op == 0 || op == c)) op = c;
                    else return -1; // unknown or conflicting: let picocli explain
                }
            } else if (a.startsWith("-")) return -1;
            else names.add(a);
        }
        PrintWriter out = new PrintWriter(System.out, false);
        PrintWriter err = new PrintWriter(System.err, true);
        int rc = new KlUtil(out, err).run(op == 0 ? 's' : op, names, listen, json, LoaderSocket.orDefault(socket));
        out.flush();
        long t1 = System.nanoTime(); // the last byte of output is written
        // KEXTNET_TIMING=1: the command's own work, from main's first statement to here (scripts/bench-kern_loader.sh).
        if (System.getenv("KEXTNET_TIMING") != null) err.println("kl_util: work " + (t1 - t0) / 1000 + " us");
        return rc;
    }

    /** Runs kl_util's option {@code op} with its names; returns the exit status. */
    int run(char op, List<String> names, boolean listen, boolean json, Path socket) {
        Invocation q;
        try {
            q = Invocation.of(op, names, listen, json, socket);
        } catch (IllegalArgumentException e) {
            err.println("kl_util: " + e.getMessage());
            return ExitCodes.USAGE;
        }
        return run(q);
    }

    int run(Invocation q) {
        if (q.readOnly() && !q.listen()) return query(q);
        KernLoaderClient c;
        try {
            c = KernLoaderClient.connect(q.socket());
        } catch (IOException | LoaderException e) {
            return inactive(q, e);
        }
        try (c) {
            if (q.mutating() || q.listen()) {
                c.onLog(new Printer(out));
                c.log(true);
            }
            perform(c, q);
            if (q.mutating() && !q.exits()) c.ping(); // every status string has arrived
            out.flush();
            if (q.listen()) {
                // Until interrupted, or until the daemon goes away: then say so, naming it, and why if it said.
                IOException why = c.ended().get();
                out.flush();
                err.println("kl_util: " + why.getMessage());
                status = 1;
            }
        } catch (IOException e) {
            if (!q.exits()) {
                err.println("kl_util: " + e.getMessage());
                status = 1;
            }
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e); // ended() never completes exceptionally
        } catch (LoaderException e) {
            report(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        out.flush();
        return status;
    }

    /** {@code -s} and {@code -k} without {@code -L}: one connection, no thread, no log subscription. */
    private int query(Invocation q) {
        KernLoaderQuery c;
        try {
            c = KernLoaderQuery.open(LoaderSocket.connect(q.socket()), q.socket());
        } catch (IOException | LoaderException e) {
            return inactive(q, e);
        }
        try (c) {
            perform(c, q);
        } catch (IOException e) {
            err.println("kl_util: " + e.getMessage());
            status = 1;
        }
        out.flush();
        return status;
    }

    private int inactive(Invocation q, Exception e) {
        err.println("kl_util: kernel loader inactive (" + q.socket() + ": " + e.getMessage() + ")");
        return 1;
    }

    /**
     * Makes each request in turn and prints what it answers; a refused one is reported and the next goes on.
     * (instanceof rather than a pattern switch, whose bootstrap would cost kl_util -s milliseconds in a fresh JVM.)
     */
    private void perform(RpcClient c, Invocation q) throws IOException {
        List<ServerInfo> json = q.listing() == Listing.JSON ? new ArrayList<>() : null; // -j: one document at the end
        for (Request<?> r : q.requests()) {
            try {
                if (r instanceof Request.ListServers l) {
                    List<ServerInfo> all = c.call(l);
                    if (json != null) json.addAll(all);
                    else out.print(q.listing() == Listing.KEXTSTAT ? StatusFormat.kextstat(all) : StatusFormat.summary(all));
                } else if (r instanceof Request.Info i) {
                    ServerInfo info = c.call(i);
                    if (json != null) json.add(info); else out.print(StatusFormat.detail(info));
                } else if (r instanceof Request.Abort a) {
                    for (LoaderException e : c.call(a)) report(e);
                } else {
                    c.call(r); // its status strings arrive as log lines
                }
            } catch (LoaderException e) {
                report(e);
            }
        }
        if (json != null) out.print(StatusFormat.json(json));
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
