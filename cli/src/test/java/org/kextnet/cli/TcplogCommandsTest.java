package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.ServerState;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.server.NkeBridge;

/**
 * tcplog as the project builds it (examples/tcplog: tcplog.jar and tcplog.kern_server), loaded by a kern_loader joined
 * to its kernel: TCP connections made in that kernel are recorded and shown by {@code kextnet tcplog}, the settings
 * go through its control, and unloading leaves nothing: no registration, no control, and over many load and unload
 * cycles with traffic, no classes.
 */
class TcplogCommandsTest extends InJvmDaemon {
    private static final int LOCALHOST = Ipv4.parse("127.0.0.1");
    Path script;

    @Override KernLoader newLoader() {
        NkeBridge bridge = new NkeBridge(kernel);
        return new KernLoader(LoaderOptions.defaults().withTimeouts(5_000, 1_000).withKernel(bridge, bridge));
    }

    @Override KernelControls controls() { return KernelControls.of(kernel); }

    @BeforeEach void find() {
        script = LoaderDemo.tcplogScript();
        assertThat(script).as("examples/tcplog is built before cli").isNotNull();
    }

    /**
     * One TCP exchange through the kernel's loopback: a listener on {@code port}, a client that sends
     * {@code request}, the server's answer of {@code answerLength} bytes; both ends closed, the accepted one first.
     */
    private void exchange(int port, String request, int answerLength) throws Exception {
        try (TcpSocket server = kernel.tcp().open().bind(0, port)) {
            server.listen(4);
            try (TcpSocket client = kernel.tcp().open()) {
                client.setTimeout(5, TimeUnit.SECONDS);
                client.connect(LOCALHOST, port);
                try (TcpSocket conn = server.accept(5, TimeUnit.SECONDS)) {
                    assertThat(conn).isNotNull();
                    conn.setTimeout(5, TimeUnit.SECONDS);
                    client.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)));
                    ByteBuffer b = ByteBuffer.allocate(request.length());
                    while (b.hasRemaining()) assertThat(conn.read(b)).isPositive();
                    assertThat(conn.write(ByteBuffer.wrap(new byte[answerLength]))).isEqualTo(answerLength);
                    ByteBuffer a = ByteBuffer.allocate(answerLength);
                    while (a.hasRemaining()) assertThat(client.read(a)).isPositive();
                }
                assertThat(client.read(ByteBuffer.allocate(1))).as("the server's FIN").isEqualTo(-1); // no simultaneous close
            }
        }
    }

    /** Waits (bounded) until tcplog's list shows {@code n} closed records: the ends reach it on the loopback's thread. */
    private String listWhenClosed(int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String raw;
        do {
            raw = run("tcplog", "--raw").out();
            if (raw.lines().filter(l -> l.contains(" state=closed ")).count() >= n) return raw;
            Thread.sleep(10);
        } while (System.nanoTime() < deadline);
        return raw;
    }

    @Test void theBuiltJarRecordsConnectionsTheCommandShowsThemAndUnloadLeavesNothing() throws Exception {
        Run add = run("kl_util", "-a", script.toString());
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains("tcplog: started, registrations ", "tcplog: loaded");
        assertThat(loader.info("tcplog").registrations()).containsEntry("sflt", 1).containsEntry("kctl", 1);

        exchange(8080, "GET / HTTP/1.0\r\n\r\n", 1000);
        // The listener and the client close at once; the accepted connection, which closed first, waits in TIME-WAIT.
        String raw = listWhenClosed(2);
        assertThat(raw.lines().toList()).hasSize(4).last().isEqualTo("end 3");
        assertThat(raw).contains("id=1 kind=listen state=closed local=0.0.0.0:8080 remote=- bytes_in=0 packets_in=0 bytes_out=0 packets_out=0 ")
                .containsPattern("id=2 kind=out state=closed local=127\\.0\\.0\\.1:\\d+ remote=127\\.0\\.0\\.1:8080 bytes_in=1000 packets_in=\\d+ bytes_out=18 packets_out=1 ")
                .containsPattern("id=3 kind=in state=disconnected local=127\\.0\\.0\\.1:8080 remote=127\\.0\\.0\\.1:\\d+ bytes_in=18 packets_in=\\d+ bytes_out=1000 packets_out=1 ");

        Run table = run("tcplog");
        assertThat(table.code()).as(table.err()).isZero();
        assertThat(table.out().lines().toList()).hasSize(4);
        assertThat(table.out()).startsWith("  Id Kind   State         Local                 Remote                 Bytes in Pkts in Bytes out Pkts out Started      Duration\n")
                .containsPattern("\n   1 listen closed        0\\.0\\.0\\.0:8080 +- +0 +0 +0 +0 - +-\n")
                .containsPattern("\n   2 out +closed +127\\.0\\.0\\.1:\\d+ +127\\.0\\.0\\.1:8080 +1000 +\\d+ +18 +1 \\d\\d:\\d\\d:\\d\\d\\.\\d{3} +\\d+ ms\n")
                .containsPattern("\n   3 in +disconnected +127\\.0\\.0\\.1:8080 +127\\.0\\.0\\.1:\\d+ +18 +\\d+ +1000 +1 \\d\\d:\\d\\d:\\d\\d\\.\\d{3} +\\d+ ms\n");

        assertThat(run("tcplog", "--stats").out()).startsWith("records=3 live=1 finished=2 limit=1024 dropped=0 unlogged=0 flushed=0 delay=off ");
        Run bad = run("tcplog", "--limit", "0");
        assertThat(bad.code()).isEqualTo(ExitCodes.KERNEL_REFUSED);
        assertThat(bad.err()).isEqualTo("tcplog: error: limit wants one number from 1 to 65536, not '0'\n");
        Run limit = run("tcplog", "--limit", "2", "--stats", "--flush");
        assertThat(limit.code()).as(limit.err()).isZero();
        assertThat(limit.out()).isEqualTo("tcplog: limit 2, dropped 1\n"
                + "records=2 live=1 finished=1 limit=2 dropped=1 unlogged=0 flushed=0 delay=off held=0 reinjected=0\nflushed 1\n");
        assertThat(run("tcplog", "--raw").out()).startsWith("id=3 kind=in ").endsWith("end 1\n");

        Run unload = run("kl_util", "-u", "tcplog");
        assertThat(unload.code()).as(unload.err()).isZero();
        assertThat(loader.info("tcplog").state()).isEqualTo(ServerState.ALLOCATED);
        assertThat(loader.info("tcplog").registrations()).isEmpty();
        assertThat(kernel.nke().find("tcplog")).isNull();
        assertThat(kernel.socketFilters().describe()).isEmpty();
        assertThat(kernel.controls().list()).isEmpty();
        assertThat(run("admin", "nke").out()).doesNotContain("tcplog");
        Run gone = run("tcplog");
        assertThat(gone.code()).isEqualTo(ExitCodes.KERNEL_REFUSED);
        assertThat(gone.err()).isEqualTo("tcplog: ENOENT: connect to control tcplog\n");
        exchange(8081, "after", 10); // TCP goes on without the filter
    }

    /**
     * The leak check: load, traffic through the filter and the control, unload, 60 times. Each load defines tcplog's
     * classes in a class loader of its own; if anything in the kernel kept an unloaded tcplog reachable (a socket's
     * attachment, a callout, a control connection), every cycle would add them. Loaded classes must stay flat.
     */
    @Test @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void loadTrafficUnloadCyclesLeaveNoClassesBehind() throws Exception {
        loader.add(script);
        for (int i = 0; i < 10; i++) cycle(i); // warm-up: the JDK's and the kernel's own classes load once
        ClassLoadingMXBean classes = ManagementFactory.getClassLoadingMXBean();
        settle();
        long before = classes.getLoadedClassCount();
        for (int i = 10; i < 60; i++) cycle(i);
        settle();
        long after = classes.getLoadedClassCount();
        System.out.printf("loaded classes %d -> %d over 50 tcplog cycles%n", before, after);
        // A cycle defines at least TcpLog, Record and its nested classes and a lambda: 50 cycles leaking would add 250+.
        assertThat(after - before).as("loaded classes").isLessThan(100);
    }

    /** One cycle; the server is loaded (START) already on the first, and is loaded again by the later ones. */
    private void cycle(int i) throws Exception {
        if (loader.info("tcplog").state() != ServerState.LOADED) loader.load("tcplog");
        exchange(9000 + i, "cycle " + i, 100);
        try (ControlSocket so = kernel.controls().connect("tcplog", 0, false)) {
            assertThat(so.send(ByteBuffer.wrap("delay 1".getBytes(StandardCharsets.UTF_8)), 0)).isZero();
            assertThat(so.receive(ByteBuffer.allocate(64), 5, TimeUnit.SECONDS)).isPositive();
            assertThat(so.send(ByteBuffer.wrap("stats".getBytes(StandardCharsets.UTF_8)), 0)).isZero();
            ByteBuffer b = ByteBuffer.allocate(512);
            assertThat(so.receive(b, 5, TimeUnit.SECONDS)).isPositive();
            assertThat(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8)).startsWith("records=3 ");
        }
        exchange(9500 + i, "held " + i, 100); // through the delay mode: held, tagged, re-injected by callouts
        loader.unload("tcplog");
        assertThat(kernel.nke().find("tcplog")).as("cycle %d: the extension's handle released", i).isNull();
        assertThat(kernel.socketFilters().describe()).isEmpty();
        assertThat(kernel.controls().lookup("tcplog")).isEqualTo(-1);
    }

    private static void settle() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
        }
    }
}
