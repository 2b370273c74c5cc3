package org.kextnet.cli;

import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.ServerState;
import org.kextnet.loader.StatusFormat;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.RpcServer;

/**
 * The kern_loader part of the main job: kern_loader in the foreground on the embedded kernel with the example
 * echo server, driven over its socket exactly as kl_util and {@code kextnet port send} drive it: status, a
 * demand load on the first message, an unload, and the status again.
 */
final class LoaderDemo {
    private final PrintStream out;

    LoaderDemo(PrintStream out) {
        this.out = out;
    }

    /** The example echo server's script: in the distribution, or in the source tree's build output. */
    static Path echoScript() {
        List<Path> candidates = new ArrayList<>();
        try {
            Path here = Path.of(LoaderDemo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // dist/lib/kextnet-cli.jar -> dist/examples; cli/target/classes -> cli/target/dist/examples
            candidates.add(here.getParent().resolveSibling("examples").resolve("echo.kern_server"));
            candidates.add(here.resolveSibling("dist").resolve("examples").resolve("echo.kern_server"));
            candidates.add(here.getParent().getParent().resolveSibling("examples").resolve("echo-server/target/echo.kern_server"));
        } catch (URISyntaxException | RuntimeException ignored) {
            // fall back to the working directory
        }
        candidates.add(Path.of("examples/echo-server/target/echo.kern_server"));
        candidates.add(Path.of("../examples/echo-server/target/echo.kern_server"));
        for (Path p : candidates) if (Files.isRegularFile(p) && Files.isRegularFile(p.resolveSibling("echo-server.jar"))) return p.toAbsolutePath().normalize();
        return null;
    }

    /** Runs the demonstration against {@code commands}' kernel; returns whether every step did what it should. */
    boolean run(KernelCommands commands, Path script) throws Exception {
        out.println();
        if (script == null) {
            out.println("kern_loader: the example echo server is not built (examples/echo-server): FAILED");
            return false;
        }
        Path dir = Files.createTempDirectory("kextnet-run-");
        Path sock = dir.resolve("kern_loader.sock");
        boolean ok = true;
        try (KernLoader loader = new KernLoader()) {
            loader.log().echoTo(out, 6);
            RpcServer server = new RpcServer(loader, AdminCommands.of(commands), new PeerPolicy(null), sock, "rw-------", null);
            try (server) {
                out.println("kern_loader -d " + script + "   (in the foreground, on the embedded kernel; socket " + sock + ")");
                for (LoaderException e : loader.configure(List.of(script), null)) {
                    out.println("kern_loader: " + e);
                    ok = false;
                }
                try (KernLoaderClient c = KernLoaderClient.connect(sock)) {
                    out.println();
                    out.println("$ kl_util -s");
                    out.print(StatusFormat.summary(c.list()));
                    out.println("$ kl_util -s echo");
                    out.print(StatusFormat.detail(c.info("echo")));
                    ok &= c.info("echo").state() == ServerState.ALLOCATED;

                    out.println();
                    out.println("$ kextnet port send echo hello kern_loader      (the first message loads the server)");
                    byte[] msg = "hello kern_loader".getBytes(StandardCharsets.UTF_8);
                    long t0 = System.nanoTime();
                    KernLoaderClient.Reply r = c.send(c.lookup("echo"), 1, msg);
                    long cold = System.nanoTime() - t0;
                    out.printf("reply from echo: id %d, code %d, %d bytes, %.1f ms including the demand load%n", r.id(), r.code(), r.data().length, cold / 1e6);
                    out.println(new String(r.data(), StandardCharsets.UTF_8));
                    ok &= r.code() == 0 && java.util.Arrays.equals(r.data(), msg);
                    t0 = System.nanoTime();
                    r = c.send(c.lookup("echo"), 2, msg);
                    out.printf("second message: reply in %d us (server loaded)%n", (System.nanoTime() - t0) / 1000);

                    out.println();
                    out.println("$ kl_util -s");
                    out.print(StatusFormat.summary(c.list()));
                    ok &= c.info("echo").state() == ServerState.LOADED;
                    out.println("$ kl_util -k");
                    out.print(StatusFormat.kextstat(c.list()));

                    out.println();
                    out.println("$ kl_util -u echo");
                    c.unload("echo");
                    c.ping();
                    out.println("$ kl_util -s echo");
                    out.print(StatusFormat.detail(c.info("echo")));
                    ok &= c.info("echo").state() == ServerState.ALLOCATED;
                    ok &= c.lookup("echo") != 0; // advertised again: the next message loads it again
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        out.println(ok ? "kern_loader: demo OK" : "kern_loader: demo FAILED");
        return ok;
    }
}
