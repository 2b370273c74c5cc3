package org.kextnet.loader.rpc;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.kextnet.loader.KernLoader;

/**
 * kern_loader's RPC port: a Unix-domain socket. The socket is bound under a private name and given its mode
 * before it is renamed into place, so no client can connect while the mode is still the umask's. One
 * platform thread accepts; each connection has its own reader thread ({@link Connection}).
 */
public final class RpcServer implements AutoCloseable {
    private final KernLoader loader;
    private final AdminCommands admin;
    private final KernelControls controls;
    private final PeerPolicy policy;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final Runnable onAbort;
    private volatile boolean closed;

    /** A server without kernel controls (see the full constructor). */
    public RpcServer(KernLoader loader, AdminCommands admin, PeerPolicy policy, Path path, String mode, Runnable onAbort) throws IOException {
        this(loader, admin, KernelControls.NONE, policy, path, mode, onAbort);
    }

    /**
     * Binds {@code path} with file mode {@code mode} (e.g. "rw-------") and starts accepting.
     * @param controls the kernel controls clients may connect to (protocol version 2)
     * @param onAbort  run after an {@code abort} without restart has been answered (the daemon exits)
     */
    public RpcServer(KernLoader loader, AdminCommands admin, KernelControls controls, PeerPolicy policy, Path path, String mode,
                     Runnable onAbort) throws IOException {
        this.loader = loader;
        this.admin = admin;
        this.controls = controls;
        this.policy = policy;
        this.path = path.toAbsolutePath();
        this.onAbort = onAbort;
        Path dir = this.path.getParent();
        Files.createDirectories(dir);
        Path tmpDir = Files.createTempDirectory(dir, ".kern_loader-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path tmp = tmpDir.resolve("s");
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(tmp), 64);
            Set<PosixFilePermission> perms = PosixFilePermissions.fromString(mode);
            Files.setPosixFilePermissions(tmp, perms);
            Files.move(tmp, this.path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            s.close();
            Files.deleteIfExists(tmp);
            throw e;
        } finally {
            Files.deleteIfExists(tmpDir);
        }
        this.server = s;
        this.acceptor = Thread.ofPlatform().name("kern_loader-accept").daemon().start(this::acceptLoop);
    }

    public Path path() { return path; }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel ch = server.accept();
                Connection c = new Connection(this, ch);
                connections.add(c);
                c.start();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) loader.log().log(3, "accept: " + e);
            }
        }
    }

    KernLoader loader() { return loader; }
    AdminCommands admin() { return admin; }
    KernelControls controls() { return controls; }
    PeerPolicy policy() { return policy; }
    void closed(Connection c) { connections.remove(c); }
    void aborted() { if (onAbort != null) Thread.ofPlatform().name("kern_loader-exit").start(onAbort); }

    /** Open connections (for tests). */
    public int connectionCount() { return connections.size(); }

    @Override public void close() throws IOException {
        closed = true;
        server.close();
        for (Connection c : connections) c.close();
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(path);
    }
}
