package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.KernLoaderQuery;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.Request;
import org.kextnet.loader.rpc.RpcLimits;
import org.kextnet.loader.rpc.RpcServer;

/**
 * Issue 13's RPC attack, ten times over (docs/reliability.md, "kern_loader under abuse"): from another process, run as
 * another user (nobody, when this runs as root) against a socket open to every user, 500
 * connections that each send a 13-byte frame header declaring 16 MiB (or the most a SEND may have) and stop, 10,000
 * idle connections opened again as fast as the daemon closes them, and a client that sends one byte a second, all
 * held for 25 s against a daemon with its default connection limits. Meanwhile, every couple of seconds, kl_util -s's
 * client lists the servers, a message gets its reply, the daemon's kernel answers pings, and the daemon's heap after a
 * full GC stays within {@link #HEAP_BOUND} of what it was before the attack.
 */
class RpcAbuseTest {
    /** How much the daemon's live heap may grow under the attack. Before the limits, each 16 MiB header held 16 MiB. */
    static final long HEAP_BOUND = 64L << 20;
    static final int SECONDS = 25;

    @TempDir Path dir;
    /** World-readable: the attacker's classes and the socket, for the other user. */
    Path shared;

    static long liveHeap(MemoryMXBean mem) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return mem.getHeapMemoryUsage().getUsed();
    }

    @Test void underTheAttackTheDaemonAnswersAndItsHeapStaysBounded() throws Exception {
        shared = Files.createTempDirectory(Path.of("/tmp"), "kl-ldr-abuse-");
        try {
            attack(shared.resolve("kl.sock"));
        } finally {
            try (var files = Files.walk(shared)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    void attack(Path socket) throws Exception {
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        RpcLimits limits = RpcLimits.defaults().withTimeouts(2_000, 5_000);
        try (Kernel kernel = new Kernel("abuse"); KernLoader loader = new KernLoader();
             RpcServer server = new RpcServer(loader, AdminCommands.of(new KernelCommands(kernel)), KernelControls.NONE,
                     new PeerPolicy(null), socket, "rw-rw-rw-", limits, null)) {
            loader.add(Servers.echo(dir, "echo"));
            answers(socket, kernel); // warm: what the measurements below do, once, before the baseline
            long baseline = liveHeap(mem);

            Process attacker = attacker(socket);
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(attacker.getInputStream(), StandardCharsets.UTF_8));
                CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> line(out));
                assertThat(ready.get(60, TimeUnit.SECONDS)).isEqualTo("ready");
                long worst = 0;
                int rounds = 0;
                while (attacker.isAlive() && rounds < 8) {
                    Thread.sleep(2_000);
                    answers(socket, kernel);
                    assertThat(server.connectionCount()).isLessThanOrEqualTo(limits.maxConnections());
                    long grown = liveHeap(mem) - baseline;
                    worst = Math.max(worst, grown);
                    assertThat(grown).as("live heap grown under the attack").isLessThan(HEAP_BOUND);
                    rounds++;
                }
                assertThat(rounds).as("measured while the attack was on").isGreaterThanOrEqualTo(5);
                assertThat(attacker.waitFor(SECONDS + 60, TimeUnit.SECONDS)).isTrue();
                String summary = line(out);
                assertThat(attacker.exitValue()).as(summary).isZero();
                System.out.printf("attack %s; daemon: accepted %d, refused %d, closed: %d malformed, %d frame time-outs, %d greeting time-outs,"
                                + " %d idle, %d to make room; worst live heap growth %.1f MiB (bound %d MiB)%n",
                        summary, server.accepted(), server.refused(), server.count(RpcServer.Closed.MALFORMED),
                        server.count(RpcServer.Closed.FRAME_TIMEOUT), server.count(RpcServer.Closed.GREETING_TIMEOUT),
                        server.count(RpcServer.Closed.IDLE), server.count(RpcServer.Closed.EVICTED), worst / 1048576.0, HEAP_BOUND >> 20);
                // Every kind of attack was met, and each was closed by the limit meant for it.
                assertThat(server.count(RpcServer.Closed.MALFORMED)).as("16 MiB headers refused").isGreaterThanOrEqualTo(250);
                assertThat(server.count(RpcServer.Closed.EVICTED)).as("idle ones closed to make room").isGreaterThan(1000);
                assertThat(summary).as("the slow client was closed by the daemon").doesNotEndWith("slow 0)");
            } finally {
                attacker.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            answers(socket, kernel);
        }
    }

    /** kl_util -s's client lists the servers; a message to echo gets its reply; the kernel answers a ping on lo0. */
    static void answers(Path socket, Kernel kernel) throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            try (KernLoaderQuery q = KernLoaderQuery.open(ch, socket)) {
                assertThat(q.list()).extracting(ServerInfo::name).containsExactly("echo");
            }
        }
        try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
            c.timeoutMillis(30_000);
            Request.Reply r = c.send(c.lookup("echo"), 5, "still here".getBytes());
            assertThat(new String(r.data())).isEqualTo("still here");
        }
        try (Pinger p = kernel.pinger()) {
            assertThat(p.ping(Ipv4.parse("127.0.0.1"), 1, 8, 5, TimeUnit.SECONDS)).as("ping through the kernel").isNotNegative();
        }
    }

    /** The attacker in its own JVM: as nobody when this runs as root (as issue 13's other local user), else as this user. */
    Process attacker(Path socket) throws Exception {
        Path from = Path.of(RpcAttacker.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path classes = shared.resolve("classes");
        Path pkg = classes.resolve(RpcAttacker.class.getPackageName().replace('.', '/'));
        Files.createDirectories(pkg);
        try (var files = Files.list(from.resolve(RpcAttacker.class.getPackageName().replace('.', '/')))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (f.getFileName().toString().startsWith("RpcAttacker")) Files.copy(f, pkg.resolve(f.getFileName()));
            }
        }
        try (var files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files::iterator)
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(Files.isDirectory(f) ? "rwxr-xr-x" : "rw-r--r--"));
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) cmd.addAll(List.of("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"));
        cmd.addAll(List.of(java, "-Xmx256m", "-XX:-UsePerfData", "-cp", classes.toString(), RpcAttacker.class.getName(), socket.toString(),
                "500", "10000", "1", Integer.toString(SECONDS)));
        return new ProcessBuilder(cmd).directory(shared.toFile()).redirectError(new File(dir.toFile(), "attacker.err")).start();
    }

    static String line(BufferedReader r) {
        try {
            String l = r.readLine();
            return l == null ? "(no output)" : l;
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
