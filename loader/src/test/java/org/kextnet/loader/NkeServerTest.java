package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.loader.KernLoaderTest.failsWith;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.loader.server.NkeBridge;
import org.kextnet.testkit.Frames;

/**
 * kern_loader joined to a kernel: servers that are network kernel extensions get {@code start(Kpi)} at load and
 * {@code stop(Kpi)} at unload, and the unload proves from the kernel's records that every registration reached its
 * detached callback; what a misbehaving extension leaves is removed by the loader (114, Faulted). The example NKE
 * (the IP filter counter) is compiled from examples/ipfilter-counter into a real jar.
 */
class NkeServerTest {
    static final String COUNTER = "org.kextnet.examples.ipcount.IpCounter";

    @TempDir Path dir;
    KernelHarness k;
    KernLoader loader;

    @BeforeEach void start() {
        k = KernelHarness.create();
        NkeBridge bridge = new NkeBridge(k.kernel());
        loader = new KernLoader(LoaderOptions.defaults().withTimeouts(5_000, 1_000).withKernel(bridge, bridge));
    }

    @AfterEach void stop() {
        loader.close();
        k.close();
    }

    Path counter(String extra) throws Exception {
        TestJars.jar(dir, "ipfilter-counter.jar", COUNTER, "1.0", null, Map.of(COUNTER, TestJars.ipCounterSource()));
        return TestJars.script(dir, "ipcount.kern_server", "SERVER_NAME ipcount\nRELOC ipfilter-counter.jar\n"
                + "ADVERTIZED_PORT ipcount\nMAP ipcount query 0\nWIRE\n" + extra);
    }

    /** A ping from the peer: one ICMP packet in, one (the reply) out. */
    void ping(int seq) {
        k.injectIp(Frames.ipv4(k.peerIp(), k.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(7, seq, new byte[16])));
        k.runPending();
        byte[] reply = k.readOutboundIp();
        assertThat(reply).as("echo reply").isNotNull();
        assertThat(Frames.ipProtocol(reply)).isEqualTo(Frames.PROTO_ICMP);
    }

    String ctl(String name, String command) throws Exception {
        try (ControlSocket so = k.kernel().controls().connect(name, 0, false)) {
            assertThat(so.send(ByteBuffer.wrap(command.getBytes(StandardCharsets.UTF_8)), 0)).isZero();
            ByteBuffer b = ByteBuffer.allocate(512);
            assertThat(so.receive(b, 5, TimeUnit.SECONDS)).isPositive();
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }
    }

    /** Nothing of {@code name} left in the kernel: no handle, no control, no IP filter. */
    void nothingLeft(String name) {
        assertThat(k.kernel().nke().find(name)).as("extension handle released").isNull();
        assertThat(k.kernel().controls().list()).extracting(c -> c.owner()).doesNotContain(name);
        assertThat(k.kernel().ipv4().filters().v4().describe()).as("ip filters").isEmpty();
    }

    @Test void exampleNkeStartsCountsAnswersAndUnloadsCleanlyThenReloadsOnDemand() throws Exception {
        ServerInfo i = loader.add(counter("START\n"));
        assertThat(i.state()).isEqualTo(ServerState.LOADED);
        assertThat(i.registrations()).isEqualTo(Map.of("ipfilter", 1, "kctl", 1));
        assertThat(k.kernel().nke().find("ipcount").registrations()).extracting(r -> r.kind() + " " + r.name())
                .containsExactly("ipfilter ipcount", "kctl ipcount");

        ping(1);
        ping(2);
        assertThat(ctl("ipcount", "stats")).isEqualTo("in icmp=2 udp=0 tcp=0 other=0 out icmp=2 udp=0 tcp=0 other=0");
        assertThat(Ports.send(loader, "ipcount", 3, new byte[0]).text()).startsWith("in icmp=2 ");
        try (ControlSocket so = k.kernel().controls().connect("ipcount", 0, false)) {
            byte[] counts = new byte[64];
            assertThat(so.getOption(1, counts)).isEqualTo(64);
            assertThat(ByteBuffer.wrap(counts).getLong(0)).as("in icmp").isEqualTo(2);
            assertThat(ByteBuffer.wrap(counts).getLong(32)).as("out icmp").isEqualTo(2);
            assertThat(so.setOption(2, new byte[1])).isZero();
            assertThat(so.getOption(1, counts)).isEqualTo(64);
            assertThat(ByteBuffer.wrap(counts).getLong(0)).as("reset").isZero();
        }

        loader.unload("ipcount");
        assertThat(loader.info("ipcount").state()).isEqualTo(ServerState.ALLOCATED);
        assertThat(loader.info("ipcount").registrations()).isEmpty();
        nothingLeft("ipcount");
        long inBefore = k.ifp().counters().get(org.kextnet.kernel.net.IfCounters.IPACKETS);
        ping(3); // no filter: still answered
        assertThat(k.ifp().counters().get(org.kextnet.kernel.net.IfCounters.IPACKETS)).isGreaterThan(inBefore);

        // The next message on its advertised port loads it again: a fresh instance, counting from zero.
        Ports.Result r = Ports.send(loader, "ipcount", 4, new byte[0]);
        assertThat(r.status()).isZero();
        assertThat(r.text()).isEqualTo("in icmp=0 udp=0 tcp=0 other=0 out icmp=0 udp=0 tcp=0 other=0");
        assertThat(loader.info("ipcount").registrations()).isEqualTo(Map.of("ipfilter", 1, "kctl", 1));
        ping(5);
        assertThat(ctl("ipcount", "stats")).startsWith("in icmp=1 ");
        loader.delete("ipcount");
        nothingLeft("ipcount");
    }

    static final Map<String, String> TRACE = Map.of(
            "t.Trace", """
                    package t;
                    import org.kextnet.kpi.*;
                    import org.kextnet.kpi.server.*;
                    public final class Trace implements KernelExtension {
                        private static void log(Kpi kpi, String s) { kpi.log().log(System.Logger.Level.INFO, s); }
                        public int start(Kpi kpi) {
                            log(kpi, "trace start on " + Thread.currentThread().getName() + " wired=" + System.getProperty("kextnet.test.trace"));
                            return 0;
                        }
                        public int stop(Kpi kpi) { log(kpi, "trace stop"); return 0; }
                        public int init(KernServ ks, int arg) { ks.log(KernServ.LOG_INFO, "trace init instance=%s", ks.instance() == this); return 0; }
                        public int free(KernServ ks, int arg) { ks.log(KernServ.LOG_INFO, "trace free"); return 0; }
                    }
                    """,
            "t.TraceHelper", """
                    package t;
                    final class TraceHelper {
                        static { System.setProperty("kextnet.test.trace", "helper initialised"); }
                    }
                    """);

    @Test void startRunsAfterWireBeforeInitAndStopAfterFreeOnTheServersThread() throws Exception {
        System.clearProperty("kextnet.test.trace");
        TestJars.jar(dir, "trace.jar", "t.Trace", "1", null, TRACE);
        loader.add(TestJars.script(dir, "trace.kern_server", "SERVER_NAME trace\nRELOC trace.jar\nINIT init 0\nFREE free 0\nSTART\nWIRE\n"));
        loader.unload("trace");
        List<String> lines = loader.log().recent().stream().map(LogHub.Line::text).filter(l -> l.startsWith("trace: trace ")).toList();
        assertThat(lines).containsExactly(
                "trace: trace start on kern_server:trace wired=helper initialised",
                "trace: trace init instance=true",
                "trace: trace free",
                "trace: trace stop");
    }

    @Test void stopIsCalledAgainWhileAControlClientKeepsItBusy() throws Exception {
        loader.add(counter("START\n"));
        ControlSocket client = k.kernel().controls().connect("ipcount", 0, false);
        CompletableFuture<Void> unload = CompletableFuture.runAsync(() -> {
            try {
                loader.unload("ipcount");
            } catch (LoaderException e) {
                throw new RuntimeException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (loader.log().recent().stream().noneMatch(l -> l.text().equals("ipcount: stop answered EBUSY; calling it again until it stops (at most 1000 ms)"))
                && System.nanoTime() < deadline) Thread.sleep(2);
        assertThat(loader.info("ipcount").state()).isEqualTo(ServerState.UNLOADING);
        client.close(); // the control can go now; the next stop answers 0
        unload.get(10, TimeUnit.SECONDS);
        assertThat(loader.info("ipcount").state()).isEqualTo(ServerState.ALLOCATED);
        nothingLeft("ipcount");
    }

    @Test void aClientThatNeverLeavesMakesTheUnloadForcedAndIsDisconnected() throws Exception {
        loader.add(counter("START\n"));
        ControlSocket client = k.kernel().controls().connect("ipcount", 0, false);
        failsWith(LoaderError.WONT_UNLOAD, () -> loader.unload("ipcount"));
        ServerInfo i = loader.info("ipcount");
        assertThat(i.state()).isEqualTo(ServerState.FAULTED);
        assertThat(i.fault()).contains("stop still refused (EBUSY)");
        assertThat(client.isConnected()).as("disconnected by the forced unload").isFalse();
        nothingLeft("ipcount");
        assertThat(loader.names().lookup("ipcount")).as("a Faulted server holds no ports").isNull();
        // A Faulted server is replaced by adding it again.
        assertThat(loader.add(dir.resolve("ipcount.kern_server")).state()).isEqualTo(ServerState.LOADED);
    }

    static final String LEAKY = """
            package t;
            import org.kextnet.kpi.*;
            import org.kextnet.kpi.control.*;
            import org.kextnet.kpi.event.*;
            import org.kextnet.kpi.ipfilter.*;
            public final class Leaky implements KernelExtension {
                private IpFilterRef a;
                public int start(Kpi kpi) {
                    try {
                        a = kpi.ipFilters().addV4("leaky-a", Position.DEFAULT, new IpFilter() {});
                        kpi.ipFilters().addV4("leaky-b", Position.DEFAULT, new IpFilter() {
                            @Override public void detached() { System.setProperty("kextnet.test.leaky", "b detached"); }
                        });
                        kpi.controls().register(ControlParams.named("leaky"), c -> 0);
                        kpi.events().subscribe(EventFilter.ANY, e -> { });
                        return 0;
                    } catch (KpiException e) {
                        return e.errno();
                    }
                }
                // Misbehaves: removes one filter and says it is done, leaving a filter, a control and a subscription.
                public int stop(Kpi kpi) { a.remove(); return 0; }
            }
            """;

    @Test void registrationsLeftBehindByStopAreRemovedByTheLoaderWith114() throws Exception {
        System.clearProperty("kextnet.test.leaky");
        TestJars.jar(dir, "leaky.jar", "t.Leaky", "1", null, Map.of("t.Leaky", LEAKY));
        loader.add(TestJars.script(dir, "leaky.kern_server", "SERVER_NAME leaky\nRELOC leaky.jar\nSTART\n"));
        assertThat(loader.info("leaky").registrations()).isEqualTo(Map.of("ipfilter", 2, "kctl", 1, "kev", 1));
        ping(1); // traffic through both filters
        failsWith(LoaderError.WONT_UNLOAD, () -> loader.unload("leaky"));
        ServerInfo i = loader.info("leaky");
        assertThat(i.state()).isEqualTo(ServerState.FAULTED);
        assertThat(i.fault()).contains("still holds registrations").contains("ipfilter=1").contains("kctl=1").contains("kev=1");
        assertThat(i.registrations()).isEmpty();
        assertThat(System.getProperty("kextnet.test.leaky")).as("the straggler's detached callback ran").isEqualTo("b detached");
        assertThat(loader.log().recent()).extracting(LogHub.Line::text).anyMatch(l -> l.startsWith("leaky: removed registrations {"));
        nothingLeft("leaky");
        ping(2); // the kernel goes on
    }

    static final Map<String, String> BAD_START = Map.of("t.BadStart", """
            package t;
            import org.kextnet.kpi.*;
            import org.kextnet.kpi.control.*;
            import org.kextnet.kpi.ipfilter.*;
            public final class BadStart implements KernelExtension {
                public int serve(org.kextnet.kpi.server.KernServ ks, org.kextnet.kpi.server.PortMessage m, int arg) { return 0; }
                public int start(Kpi kpi) {
                    try {
                        kpi.ipFilters().addV4("bad", Position.DEFAULT, new IpFilter() {
                            @Override public void detached() { System.setProperty("kextnet.test.badstart", "detached"); }
                        });
                        kpi.controls().register(ControlParams.named("bad"), c -> 0);
                    } catch (KpiException e) {
                        return e.errno();
                    }
                    if (Boolean.getBoolean("kextnet.test.badstart.throw")) throw new IllegalStateException("start blew up");
                    return Errno.ENOMEM; // fails without undoing what it did
                }
            }
            """);

    @Test void aFailedStartIs109WithEverythingItRegisteredRemoved() throws Exception {
        TestJars.jar(dir, "bad.jar", "t.BadStart", "1", null, BAD_START);
        Path script = TestJars.script(dir, "bad.kern_server", "SERVER_NAME bad\nRELOC bad.jar\nADVERTIZED_PORT bad\nMAP bad serve 0\n");
        for (boolean throwing : new boolean[] {false, true}) {
            System.clearProperty("kextnet.test.badstart");
            System.setProperty("kextnet.test.badstart.throw", Boolean.toString(throwing));
            try {
                loader.add(script);
                failsWith(LoaderError.SERVER_WONT_LOAD, () -> loader.load("bad"));
                ServerInfo i = loader.info("bad");
                assertThat(i.state()).isEqualTo(ServerState.FAULTED);
                assertThat(i.fault()).contains(throwing ? "start failed: java.lang.IllegalStateException: start blew up" : "start returned ENOMEM");
                assertThat(System.getProperty("kextnet.test.badstart")).isEqualTo("detached");
                nothingLeft("bad");
            } finally {
                System.clearProperty("kextnet.test.badstart.throw");
            }
        }
    }

    static final String THROWER = """
            package t;
            import org.kextnet.kpi.*;
            import org.kextnet.kpi.ipfilter.*;
            import org.kextnet.kpi.mbuf.Mbuf;
            public final class Thrower implements KernelExtension, IpFilter {
                public int start(Kpi kpi) {
                    try {
                        kpi.ipFilters().addV4("thrower", Position.DEFAULT, this);
                        return 0;
                    } catch (KpiException e) {
                        return e.errno();
                    }
                }
                @Override public int input(Mbuf m, int offset, int protocol) { throw new IllegalStateException("bug"); }
            }
            """;

    @Test void faultsContainedByTheKernelAreShownAndKeptAcrossLoads() throws Exception {
        TestJars.jar(dir, "thrower.jar", "t.Thrower", "1", null, Map.of("t.Thrower", THROWER));
        loader.add(TestJars.script(dir, "thrower.kern_server", "SERVER_NAME thrower\nRELOC thrower.jar\nSTART\n"));
        k.injectIp(Frames.ipv4(k.peerIp(), k.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(7, 1, new byte[16])));
        k.injectIp(Frames.ipv4(k.peerIp(), k.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(7, 2, new byte[16])));
        k.runPending();
        assertThat(k.readOutboundIp()).as("the fail-safe verdict dropped them").isNull();
        assertThat(loader.info("thrower").faults()).isEqualTo(2);
        assertThat(StatusFormat.kextstat(loader.list())).contains("thrower (1) <> {ipfilter=1} 2");
        loader.unload("thrower"); // the default stop removes the filter
        assertThat(loader.info("thrower").faults()).isEqualTo(2);
        loader.load("thrower");
        assertThat(loader.info("thrower").faults()).as("a fresh load starts from the kept count").isEqualTo(2);
        nothingLeftAfter("thrower");
    }

    /**
     * kl_util -k's view of an NKE: each registration with what the kernel counted of the calls into it; and an extension
     * the kernel quarantined after repeated faults shows as Faulted while the server stays loaded.
     */
    @Test void eachRegistrationsCountersAndAQuarantinedExtensionsHealthAreShown() throws Exception {
        loader.add(counter("START\n"));
        ping(1);
        ping(2);
        ServerInfo i = loader.info("ipcount");
        assertThat(i.health()).isEmpty();
        assertThat(i.hooks()).extracting(h -> h.kind() + " " + h.name() + " " + h.state()).containsExactly("ipfilter ipcount active", "kctl ipcount active");
        ServerInfo.Hook filter = i.hooks().getFirst();
        assertThat(filter.counters().calls()).as("two echoes in, two replies out").isEqualTo(4);
        assertThat(filter.counters().passed()).isEqualTo(4);
        assertThat(filter.counters().dropped() + filter.counters().swallowed() + filter.counters().faults()).isZero();
        assertThat(StatusFormat.kextstat(loader.list())).contains("      ipfilter   ipcount                       4          4          0          0       0");
        loader.delete("ipcount");

        TestJars.jar(dir, "thrower.jar", "t.Thrower", "1", null, Map.of("t.Thrower", THROWER));
        loader.add(TestJars.script(dir, "thrower.kern_server", "SERVER_NAME thrower\nRELOC thrower.jar\nSTART\n"));
        int limit = k.kernel().nke().policy().faultLimit();
        for (int seq = 1; seq <= limit; seq++) k.injectIp(Frames.ipv4(k.peerIp(), k.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(7, seq, new byte[16])));
        k.runPending();
        ServerInfo q = loader.info("thrower");
        assertThat(q.state()).as("the loader's state").isEqualTo(ServerState.LOADED);
        assertThat(q.health()).isEqualTo("Faulted");
        assertThat(q.stateLabel()).isEqualTo("Faulted");
        assertThat(q.faults()).isEqualTo(limit);
        assertThat(StatusFormat.summary(loader.list())).isEqualTo("SERVER: thrower Faulted\n");
        nothingLeftAfter("thrower");
    }

    void nothingLeftAfter(String name) throws Exception {
        loader.delete(name);
        nothingLeft(name);
    }

    @Test void anExtensionNeedsAJoinedKernel() throws Exception {
        try (KernLoader plain = new KernLoader(LoaderOptions.defaults().withTimeouts(5_000, 1_000))) {
            failsWith(LoaderError.SERVER_WONT_LOAD, () -> plain.add(counter("START\n")));
            assertThat(plain.info("ipcount").fault()).contains("no kernel is joined");
        }
    }
}
