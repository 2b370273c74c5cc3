package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.Request;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kextnet port}: look up an advertised port, or send it a message and print the reply. */
@Command(name = "port", mixinStandardHelpOptions = true,
        description = "Messages to servers' advertised ports through kern_loader (docs/rpc.md).",
        subcommands = {PortCommand.Send.class, PortCommand.Lookup.class})
public final class PortCommand {
    @Option(names = "--socket", paramLabel = "PATH", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "kern_loader's socket (default: $KEXTNET_SOCKET, /run/kextnet/kern_loader.sock for root).")
    Path socket;

    /** {@code port send NAME [--id N] [--hex] [DATA ...]}. */
    @Command(name = "send", mixinStandardHelpOptions = true,
            description = {"Send a message to an advertised port and print the server's reply (the body as text, or hex with --hex).",
                    "The first message to a server that is not loaded loads it.",
                    "A server's non-zero return code is printed, and the command exits 4."})
    static final class Send implements Callable<Integer> {
        @Spec CommandSpec spec;
        @picocli.CommandLine.ParentCommand PortCommand parent;
        @Option(names = "--id", defaultValue = "1", description = "Message id (default: ${DEFAULT-VALUE}).") int id;
        @Option(names = "--hex", description = "DATA is hex, and the reply is printed in hex.") boolean hex;
        @Parameters(index = "0", paramLabel = "PORT") String port;
        @Parameters(index = "1..*", paramLabel = "DATA", description = "The body (words joined by blanks).") List<String> data = List.of();

        @Override public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            String joined = String.join(" ", data);
            byte[] body = hex ? HexFormat.of().parseHex(joined.replace(" ", "")) : joined.getBytes(StandardCharsets.UTF_8);
            Path sock = LoaderSocket.orDefault(parent.socket);
            try (KernLoaderClient c = KernLoaderClient.connect(sock)) {
                long t0 = System.nanoTime();
                Request.Reply r = c.send(c.lookup(port), id, body);
                long micros = (System.nanoTime() - t0) / 1000;
                out.printf("reply from %s: id %d, code %d, %d bytes, %d us%n", port, r.id(), r.code(), r.data().length, micros);
                out.println(hex ? HexFormat.of().formatHex(r.data()) : new String(r.data(), StandardCharsets.UTF_8));
                out.flush();
                return r.code() == 0 ? ExitCodes.OK : ExitCodes.SERVER_CODE;
            } catch (LoaderException e) {
                err.println("port send: " + e.getMessage() + ": " + LoaderError.describe(e.code()));
                err.flush();
                return e.code();
            } catch (IOException e) {
                err.println("port send: kernel loader inactive (" + sock + ": " + e.getMessage() + ")");
                err.flush();
                return 1;
            }
        }
    }

    /** {@code port lookup NAME}. */
    @Command(name = "lookup", mixinStandardHelpOptions = true, description = "Print an advertised port's id.")
    static final class Lookup implements Callable<Integer> {
        @Spec CommandSpec spec;
        @picocli.CommandLine.ParentCommand PortCommand parent;
        @Parameters(index = "0", paramLabel = "PORT") String port;

        @Override public Integer call() {
            Path sock = LoaderSocket.orDefault(parent.socket);
            try (KernLoaderClient c = KernLoaderClient.connect(sock)) {
                spec.commandLine().getOut().printf("%s 0x%x%n", port, c.lookup(port));
                spec.commandLine().getOut().flush();
                return 0;
            } catch (LoaderException e) {
                spec.commandLine().getErr().println("port lookup: " + e.getMessage() + ": " + LoaderError.describe(e.code()));
                spec.commandLine().getErr().flush();
                return e.code();
            } catch (IOException e) {
                spec.commandLine().getErr().println("port lookup: kernel loader inactive (" + sock + ": " + e.getMessage() + ")");
                spec.commandLine().getErr().flush();
                return 1;
            }
        }
    }
}
