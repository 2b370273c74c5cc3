package org.kextnet.cli;

import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.loader.rpc.KernLoaderClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kextnet tcplog}: the records of the tcplog extension (examples/tcplog, after Apple's tcplog tool), read from
 * its kernel control through kern_loader as {@code kextnet ctl} reads any control: one TCP connection a line.
 */
@Command(name = "tcplog", mixinStandardHelpOptions = true,
        description = {"Show the TCP connections the tcplog extension recorded (load it first: kl_util -a tcplog.kern_server).",
                "Times are this machine's local time; Duration runs from connected to disconnected.",
                "tcplog not loaded (ENOENT) or a setting it refused exits 3."})
public final class TcplogCommand implements Callable<Integer> {
    /** The control's name (TcpLog.NAME; the cli does not link the example's classes). */
    static final String CONTROL = "tcplog";
    private static final long WAIT_MILLIS = 5000;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    @Spec CommandSpec spec;
    @Option(names = "--socket", paramLabel = "PATH", description = "kern_loader's socket (default: $KEXTNET_SOCKET, /run/kextnet/kern_loader.sock for root).")
    Path socket;
    @Option(names = "--stats", description = "Print tcplog's counters instead of the records.") boolean stats;
    @Option(names = "--flush", description = "After printing, forget the finished records.") boolean flush;
    @Option(names = "--limit", paramLabel = "N", description = "First set the most records tcplog keeps (the oldest finished go first).") Integer limit;
    @Option(names = "--delay", paramLabel = "MS|off", description = "First set tcplog's delay mode (received data held MS ms, then re-injected).") String delay;
    @Option(names = "--raw", description = "Print the control's lines as they come (key=value words).") boolean raw;

    @Override public Integer call() {
        return CtlCommand.withClient(spec, socket, CONTROL, (c, out) -> {
            try (KernLoaderClient.RemoteControl ctl = c.connectControl(CONTROL, 0)) {
                PrintWriter err = spec.commandLine().getErr();
                if (limit != null && !setting(ctl, "limit " + limit, out, err)) return ExitCodes.KERNEL_REFUSED;
                if (delay != null && !setting(ctl, "delay " + delay, out, err)) return ExitCodes.KERNEL_REFUSED;
                if (stats) {
                    out.println(ask(ctl, "stats").getFirst());
                } else {
                    List<String> lines = ask(ctl, "list");
                    if (raw) lines.forEach(out::println);
                    else out.print(table(lines.subList(0, lines.size() - 1), ZoneId.systemDefault()));
                }
                if (flush) out.println(ask(ctl, "flush").getFirst());
                return 0;
            }
        });
    }

    /** Sends a setting; prints tcplog's answer, to stderr if it is an error. */
    private static boolean setting(KernLoaderClient.RemoteControl ctl, String command, PrintWriter out, PrintWriter err) throws KpiException {
        String answer = ask(ctl, command).getFirst();
        boolean ok = !answer.startsWith("error: ");
        out.flush();
        (ok ? out : err).println("tcplog: " + answer);
        err.flush();
        return ok;
    }

    /** One command; its answer: one message, or for {@code list} every message up to {@code end N}. */
    static List<String> ask(KernLoaderClient.RemoteControl ctl, String command) throws KpiException {
        int e = ctl.send(ByteBuffer.wrap(command.getBytes(StandardCharsets.UTF_8)), 0);
        if (e != 0) throw new KpiException(e, "send to " + CONTROL + " failed");
        List<String> lines = new ArrayList<>();
        while (true) {
            ByteBuffer b = ByteBuffer.allocate(4096);
            int n = ctl.receive(b, WAIT_MILLIS, TimeUnit.MILLISECONDS);
            if (n <= 0) throw new KpiException(n == 0 ? Errno.ETIMEDOUT : Errno.ENOTCONN, "no answer from " + CONTROL + " to " + command);
            String line = new String(b.array(), 0, n, StandardCharsets.UTF_8);
            lines.add(line);
            if (!command.equals("list") || line.startsWith("end ")) return lines;
        }
    }

    /** The records ({@code key=value} lines) as a table, netstat-like. */
    static String table(List<String> records, ZoneId zone) {
        StringBuilder s = new StringBuilder(String.format("%4s %-6s %-13s %-21s %-21s %9s %7s %9s %7s %-12s %s%n",
                "Id", "Kind", "State", "Local", "Remote", "Bytes in", "Pkts in", "Bytes out", "Pkts out", "Started", "Duration"));
        for (String line : records) {
            Map<String, String> r = fields(line);
            Instant started = instant(r.get("started")), stopped = instant(r.get("stopped"));
            s.append(String.format("%4s %-6s %-13s %-21s %-21s %9s %7s %9s %7s %-12s %s%n", r.get("id"), r.get("kind"), r.get("state"),
                    r.get("local"), r.get("remote"), r.get("bytes_in"), r.get("packets_in"), r.get("bytes_out"), r.get("packets_out"),
                    started == null ? "-" : TIME.format(started.atZone(zone)),
                    started == null || stopped == null ? "-" : Duration.between(started, stopped).toMillis() + " ms"));
        }
        return s.toString();
    }

    private static Map<String, String> fields(String line) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String w : line.split(" ")) {
            int eq = w.indexOf('=');
            if (eq > 0) m.put(w.substring(0, eq), w.substring(eq + 1));
        }
        return m;
    }

    private static Instant instant(String text) {
        if (text == null || text.equals("-")) return null;
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
