package org.kextnet.cli;

import java.io.IOException;
import java.nio.file.Path;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.RpcServer;
import org.kextnet.loader.server.NkeBridge;

/**
 * {@code run --config --admin-socket}: kern_loader's RPC for a kernel that {@code run} configured, as the daemon
 * serves it (admin commands, kernel controls, and a loader joined to the kernel, so that servers can be added too),
 * with the daemon's one-process-per-socket lock ({@link DaemonFiles}). Privilege is the daemon's default: root only.
 *
 * @param path the socket
 */
record AdminSocket(DaemonFiles files, KernLoader loader, RpcServer server, Path path) implements AutoCloseable {
    /**
     * Serves {@code kernel}'s admin commands on {@code socket}; {@code onAbort} runs on {@code kl_util -A}.
     * @throws DaemonFiles.StartFailure if another process serves the socket, or it cannot be bound
     */
    static AdminSocket open(Path socket, Kernel kernel, KernelCommands commands, Runnable onAbort) throws DaemonFiles.StartFailure {
        Path pidFile = DaemonFiles.pidFileFor(socket);
        DaemonFiles files;
        try {
            files = DaemonFiles.lock(socket, pidFile);
        } catch (DaemonFiles.StartFailure e) {
            if (!e.held) throw e;
            var pid = DaemonFiles.pid(pidFile);
            throw new DaemonFiles.StartFailure("--admin-socket " + socket + ": another process" + (pid.isPresent() ? " (pid " + pid.getAsLong() + ")" : "")
                    + " serves it (a kern_loader or a kextnet run); stop it first, or name another socket", true);
        }
        NkeBridge bridge = new NkeBridge(kernel);
        KernLoader loader = new KernLoader(LoaderOptions.defaults().withKernel(bridge, bridge));
        try {
            RpcServer server = new RpcServer(loader, AdminCommands.of(commands), KernelControls.of(kernel), new PeerPolicy(null),
                    socket, "rw-------", onAbort);
            files.writePid();
            return new AdminSocket(files, loader, server, socket);
        } catch (IOException | RuntimeException e) {
            loader.close();
            files.close();
            throw new DaemonFiles.StartFailure("cannot serve " + socket + ": " + e);
        }
    }

    /** Clients first (their kernel-control connections close), then the servers loaded through it, then the files. */
    @Override public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        loader.close();
        files.close();
    }
}
