package org.kextnet.loader.rpc;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderError;

/**
 * kern_loader's RPC port: a Unix-domain socket. The socket is bound under a private name and given its mode
 * before it is renamed into place, so no client can connect while the mode is still the umask's. One platform
 * thread accepts; each connection is served by a virtual thread ({@link Connection}); one platform thread, the
 * watchdog, closes connections past their deadlines. At most {@link RpcLimits#maxConnections} are served: beyond
 * it one is closed to admit the new one (one of the user holding the most connections; an idle one first, the one
 * silent longest; status listeners never: {@link #victim}), or, if every one listens, the new one is refused with an
 * error frame.
 */
public final class RpcServer implements AutoCloseable {
    /** The longest socket path, in bytes (sun_path without its terminating NUL). */
    static final int MAX_PATH = 107;

    /** Why a connection ended, as the server counts it. */
    public enum Closed {
        /** The client closed it, or its socket failed. */
        CLIENT,
        /** No greeting within the frame time-out. */
        GREETING_TIMEOUT,
        /** A frame begun and not finished within the frame time-out. */
        FRAME_TIMEOUT,
        /** The client did not take a frame within the frame time-out. */
        WRITE_TIMEOUT,
        /** Nothing outstanding and silent for the idle time-out. */
        IDLE,
        /** Closed to admit a new connection at the connection limit. */
        EVICTED,
        /** A frame that could not be framed (length out of range, longer than its operation allows). */
        MALFORMED,
        /** The client left more events unread than the daemon holds for it. */
        OVERFLOW,
        /** The daemon closed. */
        SHUTDOWN
    }

    private final KernLoader loader;
    private final AdminCommands admin;
    private final KernelControls controls;
    private final PeerPolicy policy;
    private final RpcLimits limits;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor, watchdog;
    /** The connections served, in order of admission; guarded by itself. */
    private final Set<Connection> connections = new LinkedHashSet<>();
    private final AtomicInteger listeners = new AtomicInteger();
    private final AtomicLongArray closedCounts = new AtomicLongArray(Closed.values().length);
    private final java.util.concurrent.atomic.AtomicLong accepted = new java.util.concurrent.atomic.AtomicLong(),
            refused = new java.util.concurrent.atomic.AtomicLong();
    private final Runnable onAbort;
    /** The bound socket file's identity (device and inode), so that close removes that file and no other. */
    private Object socketKey;
    private volatile boolean closed;

    /** A server without kernel controls (see the full constructor). */
    public RpcServer(KernLoader loader, AdminCommands admin, PeerPolicy policy, Path path, String mode, Runnable onAbort) throws IOException {
        this(loader, admin, KernelControls.NONE, policy, path, mode, RpcLimits.defaults(), onAbort);
    }

    /** A server with the default limits (see the full constructor). */
    public RpcServer(KernLoader loader, AdminCommands admin, KernelControls controls, PeerPolicy policy, Path path, String mode,
                     Runnable onAbort) throws IOException {
        this(loader, admin, controls, policy, path, mode, RpcLimits.defaults(), onAbort);
    }

    /**
     * Binds {@code path} with file mode {@code mode} (e.g. "rw-------"), owned by the policy's group if it has one, and
     * starts accepting. A stale socket at
     * {@code path} (no one answers) is replaced; a live one, or a file that is not a socket, fails with an IOException.
     * @param controls the kernel controls clients may connect to (protocol version 2)
     * @param limits   what clients may hold (connections, time, memory)
     * @param onAbort  run after an {@code abort} without restart has been answered (the daemon exits)
     */
    public RpcServer(KernLoader loader, AdminCommands admin, KernelControls controls, PeerPolicy policy, Path path, String mode,
                     RpcLimits limits, Runnable onAbort) throws IOException {
        this.loader = loader;
        this.admin = admin;
        this.controls = controls;
        this.policy = policy;
        this.limits = limits;
        this.path = path.toAbsolutePath();
        this.onAbort = onAbort;
        Path dir = this.path.getParent();
        Files.createDirectories(dir);
        reclaim(this.path);
        Path tmpDir = Files.createTempDirectory(dir, ".kern_loader-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path tmp = tmpDir.resolve("s");
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(tmp), 512);
            Set<PosixFilePermission> perms = PosixFilePermissions.fromString(mode);
            Files.setPosixFilePermissions(tmp, perms);
            // The admin group's members reach the socket through its group (and are privileged by the policy).
            if (policy.group() != null) Files.getFileAttributeView(tmp, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setGroup(policy.group());
            Files.move(tmp, this.path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            this.socketKey = Files.readAttributes(this.path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException | RuntimeException e) {
            s.close();
            Files.deleteIfExists(tmp);
            throw e;
        } finally {
            Files.deleteIfExists(tmpDir);
        }
        this.server = s;
        this.acceptor = Thread.ofPlatform().name("kern_loader-accept").daemon().start(this::acceptLoop);
        this.watchdog = Thread.ofPlatform().name("kern_loader-deadlines").daemon().start(this::watch);
    }

    public Path path() { return path; }

    /**
     * Makes {@code path} free to bind: a socket that no one answers on any more (its daemon died) is removed; a path that
     * is not a socket, or one a server answers on, is left alone and the start fails.
     */
    private static void reclaim(Path path) throws IOException {
        // Bound under a short private name and renamed, a longer path would be a socket no client can connect to.
        int len = path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (len > MAX_PATH) throw new IOException(path + ": " + len + " bytes, longer than a Unix socket address may be (" + MAX_PATH + ")");
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if (!a.isOther()) throw new IOException(path + " exists and is not a socket");
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
        } catch (IOException refused) {
            Files.deleteIfExists(path); // stale: bound once, no one listening
            return;
        }
        throw new IOException(path + " is in use: a server answers on it");
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                admit(server.accept());
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) loader.log().log(LogPriority.ERR, "accept: " + e);
            }
        }
    }

    /** Serves a new connection, making room for it at the limit, or refuses it. */
    private void admit(SocketChannel ch) throws IOException {
        accepted.incrementAndGet();
        UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
        Connection c;
        Connection victim = null;
        synchronized (connections) {
            if (closed) {
                ch.close();
                return;
            }
            if (connections.size() >= limits.maxConnections()) {
                victim = victim(peer);
                if (victim == null) {
                    refuse(ch);
                    return;
                }
                connections.remove(victim);
            }
            c = new Connection(this, ch, peer);
            connections.add(c);
        }
        if (victim != null) victim.abort(Closed.EVICTED);
        c.start();
    }

    /**
     * The connection that makes room for one from {@code newcomer} (lock held): one of the user who holds the most
     * connections (the newcomer's own if it holds as many), so that one user's flood closes its own connections and not
     * another user's; among those, by {@link Connection#evictionRank}, then the one silent longest. Never a listener;
     * null if every connection listens.
     */
    private Connection victim(UnixDomainPrincipal newcomer) {
        Map<Object, Integer> perUser = new HashMap<>();
        for (Connection k : connections) if (!k.listener()) perUser.merge(k.peerUser(), 1, Integer::sum);
        if (perUser.isEmpty()) return null;
        Object mine = newcomer == null ? null : newcomer.user();
        int most = Collections.max(perUser.values());
        Object heaviest = mine;
        if (perUser.getOrDefault(mine, 0) < most) {
            for (Map.Entry<Object, Integer> e : perUser.entrySet()) if (e.getValue() == most) heaviest = e.getKey();
        }
        Connection victim = null;
        int rank = Integer.MAX_VALUE;
        for (Connection k : connections) {
            if (k.listener() || !Objects.equals(k.peerUser(), heaviest)) continue;
            int r = k.evictionRank();
            if (victim == null || r < rank || r == rank && k.lastActivity() - victim.lastActivity() < 0) {
                victim = k;
                rank = r;
            }
        }
        return victim;
    }

    /**
     * Refuses a connection at the limit without a thread: the greeting with BUSY (and VERSION_REFUSED, for clients older
     * than BUSY) and an error frame saying why, written without blocking, then the socket closes.
     */
    private void refuse(SocketChannel ch) {
        refused.incrementAndGet();
        String why = "kern_loader serves its most connections (" + limits.maxConnections() + ") and all of them listen; try again later";
        RpcWriter hello = new RpcWriter();
        hello.i32(Rpc.MAGIC).u16(Rpc.VERSION).u16(Rpc.HELLO_BUSY | Rpc.HELLO_VERSION_REFUSED).i64(0).str("").i32((int) ProcessHandle.current().pid());
        ByteBuffer error = Response.errorFrame(0, 0, LoaderError.RPC_BUSY.code(), why);
        ByteBuffer all = ByteBuffer.allocate(hello.raw().remaining() + error.remaining()).put(hello.raw()).put(error).flip();
        try (ch) {
            ch.configureBlocking(false);
            ch.write(all);
        } catch (IOException e) {
            // the client is gone already
        }
    }

    /** The watchdog: every tick, each connection past a deadline is closed. */
    private void watch() {
        long tick = Math.clamp(Math.min(limits.frameTimeoutMillis(), limits.idleTimeoutMillis()) / 4, 10, 1000);
        long lastReport = System.nanoTime();
        long[] reported = new long[3];
        while (!closed) {
            try {
                Thread.sleep(tick);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Connection c : snapshot()) c.check(now);
            if (now - lastReport > TimeUnit.SECONDS.toNanos(10)) {
                lastReport = now;
                reportPressure(reported);
            }
        }
    }

    /** At most every 10 s, one warning for what the limits turned away since the last: a flood is seen, not echoed line by line. */
    private void reportPressure(long[] last) {
        long r = refused.get(), e = count(Closed.EVICTED), t = count(Closed.GREETING_TIMEOUT) + count(Closed.FRAME_TIMEOUT)
                + count(Closed.WRITE_TIMEOUT) + count(Closed.MALFORMED) + count(Closed.OVERFLOW);
        if (r != last[0] || e != last[1] || t != last[2]) {
            loader.log().log(LogPriority.WARNING, "rpc: at the limits: " + (r - last[0]) + " connections refused, " + (e - last[1]) + " closed to make room, "
                    + (t - last[2]) + " closed for a deadline or a malformed frame (" + connectionCount() + " open, limit " + limits.maxConnections() + ")");
        }
        last[0] = r;
        last[1] = e;
        last[2] = t;
    }

    private List<Connection> snapshot() {
        synchronized (connections) {
            return new ArrayList<>(connections);
        }
    }

    KernLoader loader() { return loader; }
    AdminCommands admin() { return admin; }
    KernelControls controls() { return controls; }
    PeerPolicy policy() { return policy; }
    RpcLimits limits() { return limits; }

    void closed(Connection c, Closed cause) {
        synchronized (connections) {
            connections.remove(c);
        }
        closedCounts.incrementAndGet(cause.ordinal());
    }

    /** A connection subscribes to the log: false at the limit of listeners. */
    boolean addListener() {
        while (true) {
            int n = listeners.get();
            if (n >= limits.maxListeners()) return false;
            if (listeners.compareAndSet(n, n + 1)) return true;
        }
    }

    void removeListener() { listeners.decrementAndGet(); }

    void aborted() { if (onAbort != null) Thread.ofPlatform().name("kern_loader-exit").start(onAbort); }

    /** Open connections. */
    public int connectionCount() {
        synchronized (connections) {
            return connections.size();
        }
    }

    /** Connections accepted since the start (refused ones included). */
    public long accepted() { return accepted.get(); }

    /** Connections refused at the limit with an error frame. */
    public long refused() { return refused.get(); }

    /** Connections that ended for {@code cause}. */
    public long count(Closed cause) { return closedCounts.get(cause.ordinal()); }

    @Override public void close() throws IOException {
        closed = true;
        server.close();
        for (Connection c : snapshot()) c.abort(Closed.SHUTDOWN);
        try {
            acceptor.join(2000);
            watchdog.interrupt();
            // Each connection's thread closes its session: control clients disconnect, so extensions can then stop cleanly.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (connectionCount() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Only the socket this server bound: never one that replaced it.
        try {
            if (Objects.equals(Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey(), socketKey))
                Files.deleteIfExists(path);
        } catch (NoSuchFileException gone) {
            // removed already
        }
    }
}
