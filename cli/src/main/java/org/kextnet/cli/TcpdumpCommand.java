package org.kextnet.cli;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kextnet tcpdump}: prints the frames on an interface of kern_loader's kernel as they pass, one line each,
 * through the capture sample's kernel control (examples/capture): the command asks it to watch, and prints what it
 * sends until COUNT lines, a quiet spell of {@code --timeout}, or Ctrl-C. Files are the sample's own ({@code start}).
 */
@Command(name = "tcpdump", mixinStandardHelpOptions = true,
        description = {"Print the frames in and out on an interface of kern_loader's kernel, live, through the capture sample"
                + " (docs/samples.md; it must be loaded or allocated, and the client privileged).",
                "EXPRESSION: ip, arp, icmp, udp, tcp, proto P, [src|dst] host A.B.C.D, [src|dst] net A.B.C.D/LEN, [src|dst] port N,"
                        + " with and, or, not and parentheses.",
                "A bad expression or option (EINVAL), no such interface (ENXIO), no capture control (ENOENT) or EPERM exits 3."})
public final class TcpdumpCommand implements Callable<Integer> {
    static final String CONTROL = "capture";

    @Spec CommandSpec spec;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "kern_loader's socket (default: $KEXTNET_SOCKET, /run/kextnet/kern_loader.sock for root).")
    Path socket;

    @Option(names = {"-i", "--interface"}, required = true, paramLabel = "IFACE", description = "The interface to watch.")
    String iface;

    @Option(names = {"-s", "--snaplen"}, defaultValue = "65535", paramLabel = "BYTES", description = "Bytes of each frame to copy (64..65535; default: ${DEFAULT-VALUE}).")
    int snapLength;

    @Option(names = {"-c", "--count"}, defaultValue = "0", paramLabel = "COUNT", description = "Stop after COUNT frames (default: until interrupted).")
    long count;

    @Option(names = "--timeout", defaultValue = "0", paramLabel = "MS", description = "Stop when no frame came for MS ms (default: wait on).")
    long timeout;

    @Parameters(paramLabel = "EXPRESSION", arity = "0..*", description = "Which frames (default: all).")
    List<String> expression = List.of();

    @Override public Integer call() {
        String watch = "watch " + iface + " snaplen " + snapLength + (expression.isEmpty() ? "" : " filter " + String.join(" ", expression));
        return CtlCommand.withClient(spec, socket, "tcpdump", (c, out) -> {
            try (ControlClient ctl = c.connectControl(CONTROL, 0)) {
                int errno = ctl.send(ByteBuffer.wrap(watch.getBytes(StandardCharsets.UTF_8)), 0);
                if (errno != 0) throw new KpiException(errno, "watch on " + CONTROL + " failed");
                String first = receive(ctl, 5000);
                if (first == null) throw new KpiException(Errno.ETIMEDOUT, "no reply from " + CONTROL);
                if (first.startsWith("error: ")) throw refusal(first.substring(7));
                spec.commandLine().getErr().println("tcpdump: " + first); // "watching on wire0 (snaplen 65535)", as tcpdump's "listening on"
                spec.commandLine().getErr().flush();
                long n = 0;
                while (count == 0 || n < count) {
                    String line = receive(ctl, timeout > 0 ? timeout : TimeUnit.MINUTES.toMillis(10));
                    if (line == null) {
                        if (timeout > 0) break;
                        continue;
                    }
                    out.println(line);
                    out.flush();
                    n++;
                }
                spec.commandLine().getErr().println(n + (n == 1 ? " packet" : " packets") + " printed");
                return 0;
            }
        });
    }

    /** The next message, or null if none came within {@code millis}. */
    private static String receive(ControlClient ctl, long millis) throws KpiException, InterruptedException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        int n = ctl.receive(b, millis, TimeUnit.MILLISECONDS);
        if (n < 0) throw new KpiException(Errno.ENOTCONN, CONTROL + " closed the connection");
        return n == 0 ? null : new String(b.array(), 0, n, StandardCharsets.UTF_8);
    }

    /** "EINVAL: what is wrong" from the capture control, as the exception of that errno (named on stderr; exit 3). */
    private static KpiException refusal(String why) {
        int colon = why.indexOf(':');
        String name = colon > 0 ? why.substring(0, colon) : "";
        for (int e = 1; e < 128; e++) {
            if (Errno.name(e).equals(name)) return new KpiException(e, why.substring(colon + 1).strip());
        }
        return new KpiException(Errno.EINVAL, why);
    }
}
