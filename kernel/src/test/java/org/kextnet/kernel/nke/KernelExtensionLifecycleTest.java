package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.event.EventFilter;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.net.Ifnet;

/**
 * The life of an extension as the loader drives it: start registers through its handle, which records
 * everything; stop refuses (EBUSY) until every final callback ran and no control client is connected; what a
 * careless stop leaves behind the kernel removes itself.
 */
class KernelExtensionLifecycleTest {
    /** Registers an IP filter, an interface filter, a control, a subscription and a callout; stops in two steps. */
    static final class Sample implements KernelExtension {
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        IpFilterRef ipf;
        ControlRef ctl;
        volatile boolean ipfDetached;
        boolean stopping;

        @Override public int start(Kpi kpi) {
            try {
                ipf = kpi.ipFilters().addV4("sample", Position.DEFAULT, new IpFilter() {
                    @Override public void detached() { ipfDetached = true; log.add("ipf detached"); }
                });
                Ifnet wire = kpi.interfaces().findByName("wire0");
                kpi.interfaceFilters().attach(wire, "sample", 0, Position.DEFAULT, new InterfaceFilter() {
                    @Override public void detached(Ifnet ifp) { log.add("iff detached"); }
                });
                ctl = kpi.controls().register(ControlParams.named("com.example.sample"), new KernelControl() {
                    @Override public int connect(ControlConnection c) { return 0; }
                });
                kpi.events().subscribe(EventFilter.ANY, e -> {});
                kpi.callouts().scheduleAtFixedRate(() -> {}, 10, TimeUnit.MILLISECONDS);
                return 0;
            } catch (KpiException e) {
                kpi.removeAll();
                return e.errno();
            }
        }

        /** enetlognke's pattern: start the detach once, refuse until the detached callback was seen. */
        @Override public int stop(Kpi kpi) {
            if (kpi.controls().deregister(ctl) == Errno.EBUSY) return Errno.EBUSY;
            if (!stopping) {
                stopping = true;
                ipf.remove();
            }
            if (!ipfDetached) return Errno.EBUSY;
            return kpi.removeAll(); // the rest: interface filter, subscription, callout
        }
    }

    @Test void stopIsRefusedUntilEverythingIsGone() throws Exception {
        try (KernelHarness k = KernelHarness.create()) {
            ExtensionHandle h = k.kpi("com.example.sample");
            Sample ext = new Sample();
            assertThat(ext.start(h)).isZero();
            assertThat(h.registrations()).extracting(Registration::kind)
                    .containsExactly("ipfilter", "iff", "kctl", "kev", "callout");
            String status = k.kernel().nke().describe();
            assertThat(status).contains("com.example.sample (0 faults)", "ip filters (ipv4):", "ipfilter sample (active)",
                    "interface filters (wire0):", "kernel controls:", "plumber inet/ethernet");
            ControlSocket client = k.kernel().controls().connect("com.example.sample", 0, false);
            assertThat(ext.stop(h)).isEqualTo(Errno.EBUSY); // a client is connected
            client.close();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            int r;
            while ((r = ext.stop(h)) != 0 && System.nanoTime() < deadline) Thread.sleep(5);
            assertThat(r).isZero();
            assertThat(h.awaitRemoved(5, TimeUnit.SECONDS)).isTrue();
            assertThat(h.registrations()).isEmpty();
            assertThat(ext.log).containsExactlyInAnyOrder("ipf detached", "iff detached");
            h.close();
            assertThat(k.kernel().nke().find("com.example.sample")).isNull();
        }
    }

    @Test void theKernelRemovesWhatACarelessExtensionLeavesBehind() throws Exception {
        try (KernelHarness k = KernelHarness.create()) {
            ExtensionHandle h = k.kpi("com.example.careless");
            KernelExtension careless = new KernelExtension() {
                @Override public int start(Kpi kpi) {
                    try {
                        kpi.ipFilters().addV4("x", Position.DEFAULT, new IpFilter() {});
                        kpi.socketFilters().register(new org.kextnet.kpi.socketfilter.SocketFilterParams(7,
                                org.kextnet.kpi.socketfilter.SocketFilterParams.FLAG_GLOBAL, "x", 2, 2, 17),
                                new org.kextnet.kpi.socketfilter.SocketFilter() {});
                        return 0;
                    } catch (KpiException e) {
                        return e.errno();
                    }
                }
                @Override public int stop(Kpi kpi) { return 0; } // forgets everything
            };
            careless.start(h);
            var so = k.kernel().udp().open();
            assertThat(careless.stop(h)).isZero();
            assertThat(h.registrations()).hasSize(2); // the loader sees the stragglers...
            h.removeAll();                            // ...and removes them
            assertThat(h.awaitRemoved(5, TimeUnit.SECONDS)).isTrue();
            assertThat(so.filters().handles()).isEmpty();
            h.close();
            // A closed handle refuses new registrations.
            assertThatThrownBy(() -> h.ipFilters().addV4("late", Position.DEFAULT, new IpFilter() {}))
                    .isInstanceOf(KpiException.class).matches(e -> ((KpiException) e).errno() == Errno.ENXIO);
        }
    }
}
