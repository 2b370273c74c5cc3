package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.server.NkeBridge;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.RpcServer;

/**
 * A client in a second process under another uid (setpriv to nobody when this runs as root): it may list,
 * ask info and send messages, and every mutating request is refused with 101 and changes nothing.
 */
class RpcPrivilegeTest {
    Path dir;
    KernLoader loader;
    Kernel kernel;
    RpcServer server;

    @BeforeEach void start() throws Exception {
        // Everything the other uid needs must be world-readable: a private copy under /tmp.
        dir = Files.createTempDirectory(Path.of("/tmp"), "kl-priv-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        kernel = new Kernel("t");
        NkeBridge bridge = new NkeBridge(kernel);
        loader = new KernLoader(LoaderOptions.defaults().withKernel(bridge, bridge));
        server = new RpcServer(loader, AdminCommands.of(new KernelCommands(kernel)), KernelControls.of(kernel), new PeerPolicy(null),
                dir.resolve("kern_loader.sock"), "rw-rw-rw-", null);
    }

    @AfterEach void stop() throws Exception {
        server.close();
        loader.close();
        kernel.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** An extension with a privileged kernel control and an open one. */
    static final String CONTROLS = """
            package t;
            import org.kextnet.kpi.*;
            import org.kextnet.kpi.control.*;
            public final class Controls implements KernelExtension {
                public int start(Kpi kpi) {
                    try {
                        kpi.controls().register(ControlParams.named("priv").withFlags(ControlParams.FLAG_PRIVILEGED), c -> 0);
                        kpi.controls().register(ControlParams.named("open"), c -> 0);
                        return 0;
                    } catch (KpiException e) {
                        return e.errno();
                    }
                }
            }
            """;

    @Test void nonRootClientIsRefusedAndStateUnchanged() throws Exception {
        Path script = Servers.echo(dir, "echo");
        loader.add(script);
        loader.load("echo");
        TestJars.jar(dir, "controls.jar", "t.Controls", "1", null, Map.of("t.Controls", CONTROLS));
        loader.add(TestJars.script(dir, "controls.kern_server", "SERVER_NAME controls\nRELOC controls.jar\nSTART\n"));
        int mtu = kernel.findInterface("lo0").mtu();
        String before = StatusFormat.detail(loader.info("echo"));

        Map<String, Integer> codes = runAsOtherUser(dir.resolve("kern_loader.sock").toString(), "echo", script.toString());

        assertThat(codes).containsEntry("list", 0).containsEntry("info", 0).containsEntry("send", 0).containsEntry("admin-show", 0);
        // Kernel controls: the peer credentials stand for the socket's privilege (CTL_FLAG_PRIVILEGED).
        assertThat(codes).containsEntry("ctl-open", 0).containsEntry("ctl-priv", org.kextnet.kpi.Errno.EPERM);
        for (String op : List.of("unload", "delete", "load", "add", "admin-change", "abort", "restart"))
            assertThat(codes).as(op).containsEntry(op, LoaderError.NO_PERMISSION.code());
        assertThat(StatusFormat.detail(loader.info("echo"))).isEqualTo(before);
        assertThat(loader.list()).hasSize(2);
        assertThat(kernel.findInterface("lo0").mtu()).isEqualTo(mtu);
        assertThat(loader.log().recent()).extracting(LogHub.Line::text).anyMatch(t -> t.startsWith("unload refused: user "));
    }

    private Map<String, Integer> runAsOtherUser(String... args) throws Exception {
        OtherUser.Outcome o = OtherUser.run(dir, List.of("--reuid", "65534", "--regid", "65534", "--clear-groups"), args);
        assertThat(o.status()).as(o.out()).isZero();
        assertThat(o.out()).as("the client ran unprivileged").contains("privileged false");
        return o.codes();
    }
}
