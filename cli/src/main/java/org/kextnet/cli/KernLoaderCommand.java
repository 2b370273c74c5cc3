package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.ConfigException;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.config.KernelConfig;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.RpcLimits;
import org.kextnet.loader.rpc.RpcServer;
import org.kextnet.loader.script.ConfFile;
import org.kextnet.loader.script.ScriptException;
import org.kextnet.loader.server.NkeBridge;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code kern_loader [-d] [-v] [-c conf] [--socket path] [script ...]}: the daemon. It runs a kernel (configured
 * from {@code --kernel-config}) to which the loader is joined (extensions register through it; their kernel
 * controls are reachable over the RPC), allocates the command-line scripts and then those of the
 * configuration file, and serves the RPC socket. Without {@code -d} it starts itself again in the background (pid file, log file)
 * and returns once the socket accepts connections. SIGTERM (and kl_util -A) unloads everything and exits;
 * SIGHUP deallocates everything and re-reads the configuration (as kl_util -r). One daemon per socket: the lock beside
 * the socket ({@link DaemonFiles}) refuses a second one; a stale socket is reclaimed; a start that fails for any reason
 * exits 1 with the reason on stderr.
 */
@Command(name = "kern_loader", mixinStandardHelpOptions = true,
        description = {"The kernel server loader daemon (docs/kern_loader.md).",
                "It exits 1 if it could not start (socket, kernel configuration), 70 after a fatal error (docs/reliability.md)."})
public final class KernLoaderCommand implements Callable<Integer> {
    @Option(names = "-d", description = "Stay in the foreground (do not detach), logging to the terminal.")
    boolean foreground;

    @Option(names = "-v", description = "Verbose: log every status string (default: notices and errors).")
    boolean verbose;

    @Option(names = "-c", paramLabel = "CONF", description = "Configuration file: one script per line (kern_loader.conf).")
    Path conf;

    @Option(names = "--socket", paramLabel = "PATH", description = "RPC socket (default: $KEXTNET_SOCKET, /run/kextnet/kern_loader.sock for root).")
    Path socket;

    @Option(names = "--socket-mode", paramLabel = "MODE", description = "The socket's permissions (default: rw-------, or rw-rw---- with --group).")
    String socketMode;

    @Option(names = "--group", paramLabel = "GROUP",
            description = "An admin group: the socket is owned by it (mode 0660 unless --socket-mode) and its members, primary or supplementary, are privileged besides root.")
    String group;

    @Option(names = "--kernel-config", paramLabel = "FILE", description = "Kernel configuration applied at start (docs/configuration.md).")
    Path kernelConfig;

    @Option(names = "--pid-file", paramLabel = "FILE", description = "Where the daemon writes its pid (default: beside the socket, NAME.pid for NAME.sock).")
    Path pidFile;

    @Option(names = "--log-file", paramLabel = "FILE", description = "Detached: the daemon's log (default: beside the socket, NAME.log for NAME.sock).")
    Path logFile;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "128",
            description = "RPC connections served at once; beyond it the one silent longest makes room (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--max-listeners", paramLabel = "N", defaultValue = "16",
            description = "Connections following the log (kl_util -L) at once (default: ${DEFAULT-VALUE}).")
    int maxListeners;

    @Option(names = "--frame-timeout", paramLabel = "SECONDS", defaultValue = "5",
            description = "Longest a client may take over its greeting, a frame, or reading an answer (default: ${DEFAULT-VALUE}).")
    double frameTimeout;

    @Option(names = "--idle-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "An RPC connection with nothing outstanding is closed after this long silent; log listeners excepted (default: ${DEFAULT-VALUE}).")
    double idleTimeout;

    @Parameters(paramLabel = "SCRIPT", description = "Server scripts to allocate before the configuration file's.")
    List<Path> scripts = new ArrayList<>();

    @Override public Integer call() throws Exception {
        Path sock = LoaderSocket.orDefault(socket).toAbsolutePath();
        if (pidFile == null) pidFile = DaemonFiles.pidFileFor(sock);
        if (logFile == null) logFile = DaemonFiles.logFileFor(sock);
        if (socketMode == null) socketMode = group != null ? "rw-rw----" : "rw-------";
        try {
            // A start that cannot succeed fails here, in the foreground, with its reason on stderr.
            if (conf != null) ConfFile.read(conf);
            if (group != null) policy();
            return foreground ? runForeground(sock) : detach(sock);
        } catch (DaemonFiles.StartFailure | ScriptException e) {
            System.err.println("kern_loader: " + e.getMessage());
            return 1;
        }
    }

    /** The peer policy of {@code --group}; a group that does not exist fails the start. */
    private PeerPolicy policy() throws DaemonFiles.StartFailure {
        try {
            return new PeerPolicy(group);
        } catch (IOException e) {
            throw new DaemonFiles.StartFailure("--group " + group + ": no such group (" + e + ")");
        }
    }

    private int detach(Path sock) throws Exception {
        OptionalLong running = DaemonFiles.running(sock, pidFile);
        if (running.isPresent())
            throw new DaemonFiles.StartFailure("a kern_loader" + (running.getAsLong() > 0 ? " (pid " + running.getAsLong() + ")" : "")
                    + " already runs on " + sock + "; stop it first");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Kextnet.class.getName(), "kern_loader", "-d",
                "--socket", sock.toString(), "--socket-mode", socketMode, "--pid-file", pidFile.toAbsolutePath().toString()));
        cmd.addAll(List.of("--max-connections", Integer.toString(maxConnections), "--max-listeners", Integer.toString(maxListeners),
                "--frame-timeout", Double.toString(frameTimeout), "--idle-timeout", Double.toString(idleTimeout)));
        if (verbose) cmd.add("-v");
        if (conf != null) cmd.addAll(List.of("-c", conf.toAbsolutePath().toString()));
        if (group != null) cmd.addAll(List.of("--group", group));
        if (kernelConfig != null) cmd.addAll(List.of("--kernel-config", kernelConfig.toAbsolutePath().toString()));
        for (Path s : scripts) cmd.add(s.toAbsolutePath().toString());
        long logStart;
        Process p;
        try {
            logStart = Files.exists(logFile) ? Files.size(logFile) : 0;
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new DaemonFiles.StartFailure("cannot start the daemon (log " + logFile + "): " + e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                // Its reason is in the log: repeat what it wrote there, so that the error is on this command's stderr.
                System.err.print(since(logFile, logStart));
                System.err.println("kern_loader: the daemon exited with status " + p.exitValue() + "; see " + logFile);
                return 1;
            }
            // Ready once the socket answers and the pid file names this daemon (not another that answers there).
            if (DaemonFiles.pid(pidFile).orElse(-1) == p.pid() && accepting(sock)) {
                System.out.println("kern_loader: running, pid " + p.pid() + ", socket " + sock + ", log " + logFile);
                return 0;
            }
            Thread.sleep(20);
        }
        System.err.println("kern_loader: the daemon (pid " + p.pid() + ") did not open " + sock + " within 60 s; see " + logFile);
        return 1;
    }

    /** What {@code log} gained after {@code offset} (at most its last 64 KiB). */
    private static String since(Path log, long offset) {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(log.toFile(), "r")) {
            long from = Math.max(offset, f.length() - 65536);
            byte[] b = new byte[(int) (f.length() - from)];
            f.seek(from);
            f.readFully(b);
            return new String(b, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean accepting(Path sock) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private int runForeground(Path sock) throws Exception {
        PrintStream out = System.out;
        // One daemon per socket: the lock first, before anything is made (a kernel with its interfaces, a socket).
        DaemonFiles files = DaemonFiles.lock(sock, pidFile);
        // No half-dead daemon: an error that escapes any thread ends the process, non-zero, for a supervisor to restart it.
        FatalErrors fatal = FatalErrors.install(() -> {
            files.removeSocket();
            files.close();
        });
        Kernel kernel = new Kernel("kextnet");
        KernelCommands commands = new KernelCommands(kernel);
        if (kernelConfig != null) {
            try {
                KernelConfig.apply(kernel, commands, kernelConfig);
            } catch (ConfigException e) {
                System.err.println("kern_loader: " + e.getMessage());
                commands.closeServices();
                kernel.close();
                files.close();
                return 1;
            }
        }
        // Joined to the daemon's kernel: extensions register through it, and unloads check the kernel's records.
        NkeBridge bridge = new NkeBridge(kernel);
        KernLoader loader = new KernLoader(LoaderOptions.defaults().withKernel(bridge, bridge));
        loader.log().echoTo(out, verbose ? LogPriority.DEBUG : LogPriority.NOTICE, true); // the log: time and priority
        CountDownLatch stop = new CountDownLatch(1);
        RpcServer server = null;
        try {
            RpcLimits limits = new RpcLimits(maxConnections, maxListeners, Math.round(frameTimeout * 1000), Math.round(idleTimeout * 1000),
                    RpcLimits.defaults().connectionBudget());
            server = new RpcServer(loader, AdminCommands.of(commands), KernelControls.of(kernel), policy(), sock, socketMode,
                    limits, stop::countDown);
            files.writePid();
        } catch (IOException | RuntimeException e) {
            System.err.println("kern_loader: cannot serve " + sock + ": " + e);
            if (server != null) server.close();
            loader.close();
            commands.closeServices();
            kernel.close();
            files.close();
            return 1;
        }
        RpcServer rpc = server;
        Runnable shutdown = () -> {
            fatal.stopping();
            loader.log().log(LogPriority.NOTICE, "shutting down: unloading every server");
            try {
                // Clients first: their kernel-control connections close, so extensions can stop without being forced.
                rpc.close();
            } catch (IOException ignored) {
                // exiting anyway
            }
            loader.close();
            files.close(); // the pid file goes, the lock is let go
            commands.closeServices();
            kernel.close();
        };
        Thread hook = new Thread(shutdown, "kern_loader-shutdown");
        Runtime.getRuntime().addShutdownHook(hook); // SIGTERM, SIGINT
        Signals.onHangup(() -> Thread.ofPlatform().start(() -> {
            loader.log().log(LogPriority.NOTICE, "SIGHUP: re-reading the configuration");
            for (LoaderException e : loader.abort(true)) loader.log().log(LogPriority.ERR, e.toString());
        }));
        loader.log().log(LogPriority.NOTICE, "listening on " + sock + " (pid " + ProcessHandle.current().pid() + ")");
        for (LoaderException e : loader.configure(scripts.stream().map(Path::toAbsolutePath).toList(), conf == null ? null : conf.toAbsolutePath())) {
            System.err.println("kern_loader: " + e);
        }
        stop.await(); // kl_util -A
        Runtime.getRuntime().removeShutdownHook(hook);
        shutdown.run();
        return 0;
    }
}
