package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.kextnet.kpi.KpiException;
import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.Request;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code kextnet ctl}: kernel controls in kern_loader's kernel, from this process, through the RPC (docs/rpc.md,
 * protocol 2). Each command connects to the control by name, does its work and disconnects.
 */
@Command(name = "ctl", mixinStandardHelpOptions = true,
        description = {"Kernel controls registered by loaded extensions, reached through kern_loader (docs/rpc.md).",
                "Connecting to the name of an advertised port whose server is not loaded loads it.",
                "A refusal names the kernel's errno on stderr (ENOENT no such control, ETIMEDOUT no reply in time) and exits 3."},
        subcommands = {CtlCommand.ListControls.class, CtlCommand.Send.class, CtlCommand.Recv.class, CtlCommand.GetOpt.class, CtlCommand.SetOpt.class})
public final class CtlCommand {
    @Option(names = "--socket", paramLabel = "PATH", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "kern_loader's socket (default: $KEXTNET_SOCKET, /run/kextnet/kern_loader.sock for root).")
    Path socket;

    /** What a subcommand does once connected; returns the exit status. */
    @FunctionalInterface
    interface Work {
        int run(KernLoaderClient c, PrintWriter out) throws IOException, LoaderException, KpiException, InterruptedException;
    }

    /** Connects to kern_loader, runs {@code work}, and turns failures into messages (after {@code what}, "ctl send") and exit codes. */
    static int withClient(CommandSpec spec, Path socket, String what, Work work) {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Path sock = LoaderSocket.orDefault(socket);
        KernLoaderClient client;
        try {
            client = KernLoaderClient.connect(sock);
        } catch (LoaderException e) {
            err.println(what + ": " + e.getMessage() + ": " + LoaderError.describe(e.code()));
            err.flush();
            return e.code();
        } catch (IOException e) {
            err.println(what + ": kernel loader inactive (" + sock + ": " + e.getMessage() + ")");
            err.flush();
            return ExitCodes.FAILED;
        }
        try (KernLoaderClient c = client) {
            int rc = work.run(c, out);
            out.flush();
            return rc;
        } catch (KpiException e) {
            out.flush();
            err.println(what + ": " + e.getMessage()); // "ENOENT: connect to control x"
            err.flush();
            return ExitCodes.KERNEL_REFUSED;
        } catch (LoaderException e) {
            out.flush();
            err.println(what + ": " + e.getMessage() + ": " + LoaderError.describe(e.code()));
            err.flush();
            return e.code();
        } catch (IOException e) {
            out.flush();
            err.println(what + ": " + e.getMessage()); // "lost kern_loader (pid 1234, /run/...): ..."
            err.flush();
            return ExitCodes.FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ExitCodes.FAILED;
        }
    }

    static String show(byte[] b, boolean hex) {
        return hex ? HexFormat.of().formatHex(b) : new String(b, StandardCharsets.UTF_8);
    }

    /**
     * Receives up to {@code count} messages, printing each on its own line; {@link ExitCodes#KERNEL_REFUSED} if fewer came
     * in time or the control closed the connection, {@link ExitCodes#FAILED} if kern_loader itself went away (said so,
     * naming the daemon, not the control).
     */
    static int receive(KernLoaderClient c, KernLoaderClient.RemoteControl ctl, int count, long timeoutMillis, boolean hex, PrintWriter out,
                       PrintWriter err) {
        for (int i = 0; i < count; i++) {
            ByteBuffer b = ByteBuffer.allocate(65536);
            int n = ctl.receive(b, timeoutMillis, TimeUnit.MILLISECONDS);
            if (n <= 0) {
                out.flush();
                IOException lost = n < 0 ? c.lost() : null; // the connection to kern_loader itself ended
                err.println("ctl: " + (n == 0 ? "no message from " + ctl.name() + " within " + timeoutMillis + " ms"
                        : lost != null ? lost.getMessage() : ctl.name() + " closed the connection"));
                err.flush();
                return lost != null ? ExitCodes.FAILED : ExitCodes.KERNEL_REFUSED;
            }
            byte[] got = new byte[n];
            b.flip().get(got);
            out.println(show(got, hex));
        }
        return 0;
    }

    /** {@code ctl list}. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = "The registered kernel controls: id, unit, flags, clients, owner, name.")
    static final class ListControls implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand CtlCommand parent;

        @Override public Integer call() {
            return withClient(spec, parent.socket, "ctl list", (c, out) -> {
                List<Request.ControlInfo> all = c.controls();
                out.printf("%4s %4s %5s %7s %-16s %s%n", "Id", "Unit", "Flags", "Clients", "Owner", "Name");
                for (Request.ControlInfo i : all)
                    out.printf("%4d %4d 0x%03x %7d %-16s %s%n", i.id(), i.unit(), i.flags(), i.clients(), i.owner(), i.name());
                return 0;
            });
        }
    }

    /** {@code ctl send NAME DATA...}: one message, then the replies. */
    @Command(name = "send", mixinStandardHelpOptions = true,
            description = "Connect to a control, send one message (the words joined by blanks, or hex with --hex), print the replies it queues.")
    static final class Send implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand CtlCommand parent;
        @Option(names = "--unit", defaultValue = "0", description = "Unit to connect to (default: the first free one).") int unit;
        @Option(names = "--hex", description = "DATA is hex, and replies are printed in hex.") boolean hex;
        @Option(names = "--replies", defaultValue = "1", description = "Replies to wait for (default: ${DEFAULT-VALUE}).") int replies;
        @Option(names = "--timeout", defaultValue = "5000", paramLabel = "MS", description = "Longest wait for each reply (default: ${DEFAULT-VALUE}).") long timeout;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1..*", paramLabel = "DATA") List<String> data = List.of();

        @Override public Integer call() {
            String joined = String.join(" ", data);
            byte[] body = hex ? HexFormat.of().parseHex(joined.replace(" ", "")) : joined.getBytes(StandardCharsets.UTF_8);
            return withClient(spec, parent.socket, "ctl send", (c, out) -> {
                try (KernLoaderClient.RemoteControl ctl = c.connectControl(name, unit)) {
                    int errno = ctl.send(ByteBuffer.wrap(body), 0);
                    if (errno != 0) throw new KpiException(errno, "send to " + name + " failed");
                    return receive(c, ctl, replies, timeout, hex, out, spec.commandLine().getErr());
                }
            });
        }
    }

    /** {@code ctl recv NAME}: wait for messages the extension queues. */
    @Command(name = "recv", mixinStandardHelpOptions = true, description = "Connect to a control and print the messages it queues.")
    static final class Recv implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand CtlCommand parent;
        @Option(names = "--unit", defaultValue = "0", description = "Unit to connect to (default: the first free one).") int unit;
        @Option(names = "--hex", description = "Print messages in hex.") boolean hex;
        @Option(names = "--count", defaultValue = "1", description = "Messages to wait for (default: ${DEFAULT-VALUE}).") int count;
        @Option(names = "--timeout", defaultValue = "5000", paramLabel = "MS", description = "Longest wait for each message (default: ${DEFAULT-VALUE}).") long timeout;
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override public Integer call() {
            return withClient(spec, parent.socket, "ctl recv", (c, out) -> {
                try (KernLoaderClient.RemoteControl ctl = c.connectControl(name, unit)) {
                    return receive(c, ctl, count, timeout, hex, out, spec.commandLine().getErr());
                }
            });
        }
    }

    /** {@code ctl getopt NAME OPTION}. */
    @Command(name = "getopt", mixinStandardHelpOptions = true, description = "Print a control option's value (hex; --u64 as big-endian 64-bit numbers).")
    static final class GetOpt implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand CtlCommand parent;
        @Option(names = "--unit", defaultValue = "0", description = "Unit to connect to (default: the first free one).") int unit;
        @Option(names = "--u64", description = "Print the value as big-endian unsigned 64-bit numbers.") boolean u64;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "OPTION") int option;

        @Override public Integer call() {
            return withClient(spec, parent.socket, "ctl getopt", (c, out) -> {
                try (KernLoaderClient.RemoteControl ctl = c.connectControl(name, unit)) {
                    int size = ctl.getOption(option, null);
                    if (size < 0) throw new KpiException(-size, "getopt " + option + " on " + name + " failed");
                    byte[] b = new byte[size];
                    int n = ctl.getOption(option, b);
                    if (n < 0) throw new KpiException(-n, "getopt " + option + " on " + name + " failed");
                    byte[] v = java.util.Arrays.copyOf(b, Math.min(n, b.length));
                    if (u64) {
                        ByteBuffer bb = ByteBuffer.wrap(v);
                        StringBuilder s = new StringBuilder();
                        while (bb.remaining() >= 8) s.append(s.isEmpty() ? "" : " ").append(Long.toUnsignedString(bb.getLong()));
                        out.println(s);
                    } else {
                        out.println(HexFormat.of().formatHex(v));
                    }
                    return 0;
                }
            });
        }
    }

    /** {@code ctl setopt NAME OPTION [VALUE]}. */
    @Command(name = "setopt", mixinStandardHelpOptions = true, description = "Set a control option (VALUE as text, or hex with --hex; empty if omitted).")
    static final class SetOpt implements Callable<Integer> {
        @Spec CommandSpec spec;
        @ParentCommand CtlCommand parent;
        @Option(names = "--unit", defaultValue = "0", description = "Unit to connect to (default: the first free one).") int unit;
        @Option(names = "--hex", description = "VALUE is hex.") boolean hex;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "OPTION") int option;
        @Parameters(index = "2", arity = "0..1", paramLabel = "VALUE") String value = "";

        @Override public Integer call() {
            byte[] v = hex ? HexFormat.of().parseHex(value) : value.getBytes(StandardCharsets.UTF_8);
            return withClient(spec, parent.socket, "ctl setopt", (c, out) -> {
                try (KernLoaderClient.RemoteControl ctl = c.connectControl(name, unit)) {
                    int errno = ctl.setOption(option, v);
                    if (errno != 0) throw new KpiException(errno, "setopt " + option + " on " + name + " failed");
                    return 0;
                }
            });
        }
    }
}
