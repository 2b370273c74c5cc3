package org.kextnet.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.rpc.KernLoaderClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kextnet admin LINE}: runs an admin command (ifconfig, route, arp, sysctl, netstat) in kern_loader's kernel. */
@Command(name = "admin", mixinStandardHelpOptions = true,
        description = {"Run a kernel admin command (docs/configuration.md) in the running kern_loader's kernel, e.g. 'admin netstat -i'.",
                "Commands that change the kernel need root (or kern_loader's --group); a refusal exits 101, a command that fails 124."})
public final class AdminCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--socket", paramLabel = "PATH", description = "kern_loader's socket.")
    Path socket;

    @Option(names = {"-j", "--json"}, description = "Print a listing (ifconfig, route show, arp -a, sysctl NAME, netstat -i/-s/-r/-a/-t/-k, nke) as one JSON document (docs/configuration.md, \"JSON\").")
    boolean json;

    @Parameters(paramLabel = "WORD", arity = "1..*", description = "The command line.")
    List<String> words;

    @Override public Integer call() {
        Path sock = LoaderSocket.orDefault(socket);
        try (KernLoaderClient c = KernLoaderClient.connect(sock)) {
            String line = String.join(" ", words);
            spec.commandLine().getOut().print(json ? c.adminJson(line) : c.admin(line));
            spec.commandLine().getOut().flush();
            return 0;
        } catch (LoaderException e) {
            spec.commandLine().getErr().println("admin: " + e.getMessage() + ": " + LoaderError.describe(e.code()));
            spec.commandLine().getErr().flush();
            return e.code();
        } catch (IOException e) {
            spec.commandLine().getErr().println("admin: kernel loader inactive (" + sock + ": " + e.getMessage() + ")");
            spec.commandLine().getErr().flush();
            return ExitCodes.FAILED;
        }
    }
}
