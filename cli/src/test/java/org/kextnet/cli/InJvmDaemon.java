package org.kextnet.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.RpcServer;

import picocli.CommandLine;

/** For the command tests: a kern_loader in this JVM, with a kernel, serving its RPC on a real Unix socket, {@code dir/kl.sock}. */
abstract class InJvmDaemon {
    @TempDir Path dir;
    KernLoader loader;
    Kernel kernel;
    RpcServer server;
    Path sock;

    /** A command's exit status and output. */
    record Run(int code, String out, String err) {}

    /** Runs a kextnet command line against this daemon's socket ({@code --socket} added after the command). */
    Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Commands.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] full = new String[args.length + 1];
        int sub = args[0].equals("ctl") ? 2 : 1; // ctl's --socket goes after its subcommand
        System.arraycopy(args, 0, full, 0, sub);
        full[sub] = "--socket=" + sock;
        System.arraycopy(args, sub, full, sub + 1, args.length - sub);
        int code = cl.execute(full);
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeEach void startDaemon() throws Exception {
        kernel = new Kernel("t");
        loader = newLoader();
        sock = dir.resolve("kl.sock");
        server = new RpcServer(loader, AdminCommands.of(new KernelCommands(kernel)), controls(), new PeerPolicy(null), sock, "rw-------", null);
    }

    /** The loader, made after {@link #kernel}: a plain one unless a test joins it to the kernel. */
    KernLoader newLoader() { return new KernLoader(); }

    /** The kernel controls the RPC serves (protocol 2): none unless a test joins the loader to the kernel. */
    KernelControls controls() { return KernelControls.NONE; }

    @AfterEach void stopDaemon() throws Exception {
        server.close();
        loader.close();
        kernel.close();
    }
}
