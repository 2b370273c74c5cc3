package org.kextnet.loader.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.LogPriority;

/** The loader's view of a server's kernel registrations through the bridge. */
class NkeBridgeTest {
    /** Just enough of a server handle for the bridge. */
    static class FakeServ implements KernServ {
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        @Override public String serverName() { return "ipfw"; }
        @Override public String version() { return "1"; }
        @Override public List<String> ports() { return List.of(); }
        @Override public long port(String name) { return 0; }
        @Override public Object instance() { return null; }
        @Override public void log(LogPriority priority, String format, Object... args) { log.add(priority.code() + " " + String.format(format, args)); }
        @Override public void callout(Runnable task) { task.run(); }
        @Override public Timeout timeout(Runnable task, long delay, TimeUnit unit) { throw new UnsupportedOperationException(); }
        @Override public ByteBuffer allocateWired(int bytes) { return ByteBuffer.allocateDirect(bytes); }
        @Override public boolean send(long replyPort, int id, byte[] data) { return false; }
        @Override public <T> java.util.Optional<T> kpi(Class<T> type) { return java.util.Optional.empty(); }
    }

    /**
     * The kernel may log about an extension after its unload (the watchdog's late over-budget report), when the
     * server's handle throws: the line is dropped, and nothing is thrown into the kernel.
     */
    @Test void theKernelsLogAboutAnUnloadedServerIsDroppedNotThrown() throws Exception {
        try (Kernel kernel = new Kernel("bridge")) {
            NkeBridge bridge = new NkeBridge(kernel);
            var load = new FakeServ() { // as ServerContext does once the server is unloaded
                volatile boolean revoked;
                @Override public void log(LogPriority priority, String format, Object... args) {
                    if (revoked) throw new IllegalStateException("server ipfw is unloaded: its KernServ handle is no longer valid");
                    super.log(priority, format, args);
                }
            };
            System.Logger log = bridge.provide(Kpi.class, load).orElseThrow().log();
            log.log(System.Logger.Level.WARNING, "before");
            load.revoked = true;
            log.log(System.Logger.Level.WARNING, "after the unload");
            log.log(System.Logger.Level.INFO, "{0} over budget", "a call");
            assertThat(load.log).containsExactly("4 before");
        }
    }

    @Test void registrationsAreRecordedPerLoadAndStragglersRemoved() throws Exception {
        try (Kernel kernel = new Kernel("bridge")) {
            NkeBridge bridge = new NkeBridge(kernel);
            FakeServ load1 = new FakeServ();
            Kpi kpi = bridge.provide(Kpi.class, load1).orElseThrow();
            assertThat(bridge.provide(Kpi.class, load1).orElseThrow()).isSameAs(kpi);
            assertThat(bridge.provide(String.class, load1)).isEmpty();
            kpi.ipFilters().addV4("a", Position.DEFAULT, new IpFilter() {});
            kpi.ipFilters().addV4("b", Position.DEFAULT, new IpFilter() {});
            kpi.controls().register(ControlParams.named("com.example.ipfw"), c -> 0);
            assertThat(bridge.outstanding(load1)).isEqualTo(Map.of("ipfilter", 2, "kctl", 1));
            // A client keeps the control: the extension's own removeAll is refused, a forced one is not.
            var client = kernel.controls().connect("com.example.ipfw", 0, false);
            assertThat(kpi.removeAll()).isEqualTo(org.kextnet.kpi.Errno.EBUSY);
            assertThat(bridge.outstanding(load1)).containsEntry("kctl", 1);
            bridge.removeAll(load1); // a forced unload
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!bridge.outstanding(load1).isEmpty() && System.nanoTime() < deadline) Thread.sleep(5);
            assertThat(bridge.outstanding(load1)).isEmpty();
            assertThat(client.isConnected()).as("the forced removal disconnected the client").isFalse();
            kpi.log().log(System.Logger.Level.WARNING, "hello");
            assertThat(load1.log).contains("4 hello");
            // Asking changes nothing: the handle stays open until the load is released.
            assertThat(kernel.nke().find("ipfw")).isSameAs(kpi);
            bridge.release(load1);
            assertThat(kernel.nke().find("ipfw")).isNull();
            assertThatThrownBy(() -> kpi.ipFilters().addV4("late", Position.DEFAULT, new IpFilter() {}))
                    .isInstanceOfSatisfying(org.kextnet.kpi.KpiException.class, e -> assertThat(e.errno()).isEqualTo(org.kextnet.kpi.Errno.ENXIO));
            // The next load of the same server gets a fresh handle under the same name.
            FakeServ load2 = new FakeServ();
            Kpi kpi2 = bridge.provide(Kpi.class, load2).orElseThrow();
            assertThat(kpi2).isNotSameAs(kpi);
            assertThat(kpi2.name()).isEqualTo("ipfw");
            assertThat(bridge.outstanding(load2)).isEmpty();
        }
    }
}
