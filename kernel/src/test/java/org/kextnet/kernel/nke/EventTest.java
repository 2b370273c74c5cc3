package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.event.EventSocket;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.event.EventFilter;
import org.kextnet.kpi.event.EventKpi;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.event.NetEventData;

/** The kernel event bus: vendor codes, posting checks, wildcard filters, ids, kernel-posted events. */
class EventTest {
    private KernelHarness k;
    private ExtensionHandle kpi;

    @BeforeEach void setUp() {
        k = KernelHarness.create();
        kpi = k.kpi("com.example.kev");
    }

    @AfterEach void tearDown() { k.close(); }

    @Test void vendorCodesAreStablePerStringAndNeverTheKernels() {
        int a = kpi.events().vendorCodeFind("com.example");
        assertThat(kpi.events().vendorCodeFind("com.example")).isEqualTo(a);
        assertThat(kpi.events().vendorCodeFind("org.other")).isNotEqualTo(a);
        assertThat(a).isNotEqualTo(KernelEvents.KEV_VENDOR_KEXTNET).isNotZero();
    }

    @Test void postingChecksVendorAndSize() {
        int v = kpi.events().vendorCodeFind("com.example");
        assertThat(kpi.events().post(KernelEvents.KEV_VENDOR_KEXTNET, 1, 1, 1, null)).isEqualTo(Errno.EINVAL);
        assertThat(kpi.events().post(0, 1, 1, 1, null)).isEqualTo(Errno.EINVAL);
        assertThat(kpi.events().post(v, 0, 1, 1, null)).isEqualTo(Errno.EINVAL);
        assertThat(kpi.events().post(v, 1, 1, 1, new byte[KernelEvents.MAX_DATA + 1])).isEqualTo(Errno.EMSGSIZE);
        assertThat(kpi.events().post(v, 1, 1, 1, new byte[KernelEvents.MAX_DATA])).isZero();
    }

    @Test void wildcardsSelectByVendorThenClassThenSubclassAndIdsAreMonotonic() throws Exception {
        int v = kpi.events().vendorCodeFind("com.example");
        int w = kpi.events().vendorCodeFind("org.other");
        List<KernelEvent> any = Collections.synchronizedList(new ArrayList<>());
        List<KernelEvent> vendor = new ArrayList<>();
        List<KernelEvent> cls = new ArrayList<>();
        List<KernelEvent> sub = new ArrayList<>();
        kpi.events().subscribe(EventFilter.ANY, any::add);
        kpi.events().subscribe(new EventFilter(v, 0, 0), vendor::add);
        kpi.events().subscribe(new EventFilter(v, 5, 0), cls::add);
        kpi.events().subscribe(new EventFilter(v, 5, 7), sub::add);
        kpi.events().post(v, 5, 7, 1, new byte[] {9});
        kpi.events().post(v, 5, 8, 2, null);
        kpi.events().post(v, 6, 7, 3, null);
        kpi.events().post(w, 5, 7, 4, null);
        assertThat(any).extracting(KernelEvent::code).containsExactly(1, 2, 3, 4);
        assertThat(vendor).extracting(KernelEvent::code).containsExactly(1, 2, 3);
        assertThat(cls).extracting(KernelEvent::code).containsExactly(1, 2);
        assertThat(sub).extracting(KernelEvent::code).containsExactly(1);
        assertThat(sub.get(0).data()).containsExactly(9);
        for (int i = 1; i < any.size(); i++) assertThat(any.get(i).id()).isGreaterThan(any.get(i - 1).id());
        assertThat(kpi.events().currentId()).isEqualTo(any.get(3).id());
    }

    @Test void eventSocketsQueueMatchingEventsAndDropWhenFull() throws Exception {
        int v = kpi.events().vendorCodeFind("com.example");
        try (EventSocket so = k.kernel().events().openSocket()) {
            so.setFilter(new EventFilter(v, 0, 0));
            kpi.events().post(v, 1, 1, 1, new byte[] {1, 2});
            kpi.events().post(kpi.events().vendorCodeFind("x"), 1, 1, 2, null);
            KernelEvent e = so.receive(1, TimeUnit.SECONDS);
            assertThat(e.code()).isEqualTo(1);
            assertThat(e.data()).containsExactly(1, 2);
            assertThat(so.receive(0, TimeUnit.MILLISECONDS)).isNull();
            // 8 KiB of receive buffer: 1000-byte events, 24 bytes of header each -> 8 fit.
            for (int i = 0; i < 10; i++) kpi.events().post(v, 1, 1, 10 + i, new byte[1000]);
            int got = 0;
            while (so.receive(0, TimeUnit.MILLISECONDS) != null) got++;
            assertThat(got).isEqualTo(8);
            assertThat(so.dropped()).isEqualTo(2);
        }
    }

    @Test void interfaceLifecycleEventsReachEventSocketsAndListeners() throws Exception {
        List<String> listener = Collections.synchronizedList(new ArrayList<>());
        kpi.events().subscribe(new EventFilter(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS, 0),
                e -> listener.add(KernelEvents.codeName(e) + ":" + NetEventData.decode(e.data()).name()));
        try (EventSocket so = k.kernel().events().openSocket()) {
            so.setFilter(new EventFilter(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS, KernelEvents.KEV_DL_SUBCLASS));
            MemoryWire w = new MemoryWire("ev", MemoryWire.Options.perfect().withPollMode(true));
            Interface ifp = k.kernel().createInterface("ev7", IfFamily.ETHERNET, w.a(), 0x020000000777L, 1500);
            ifp.up();
            ifp.setLinkState(false);
            ifp.setLinkState(true);
            ifp.setMtu(1280);
            k.kernel().addAddress(ifp, org.kextnet.kernel.net.InterfaceAddress.parse("10.7.0.1/24"));
            k.kernel().removeAddress(ifp, org.kextnet.kernel.wire.Ipv4.parse("10.7.0.1"));
            k.kernel().destroyInterface("ev7");
            k.awaitDetached();
            List<String> seen = new ArrayList<>();
            KernelEvent e;
            while ((e = so.receive(100, TimeUnit.MILLISECONDS)) != null) seen.add(KernelEvents.codeName(e));
            assertThat(seen).containsExactly("KEV_DL_IF_ATTACHED", "KEV_DL_PROTO_ATTACHED", "KEV_DL_SIFFLAGS", "KEV_DL_LINK_OFF",
                    "KEV_DL_LINK_ON", "KEV_DL_SIFMTU", "KEV_DL_IF_DETACHING", "KEV_DL_SIFFLAGS", "KEV_DL_PROTO_DETACHED",
                    "KEV_DL_IF_DETACHED");
            NetEventData d = NetEventData.decode(k.kernel().findInterface("wire0").eventData().encode());
            assertThat(d.name()).isEqualTo("wire0");
        }
        assertThat(listener).contains("KEV_INET_NEW_ADDR:ev7", "KEV_INET_ADDR_DELETED:ev7", "KEV_DL_IF_DETACHED:ev7");
    }

    @Test void powerEventsReachSubscribers() throws Exception {
        try (EventSocket so = k.kernel().events().openSocket()) {
            so.setFilter(new EventFilter(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_SYSTEM_CLASS, KernelEvents.KEV_POWER_SUBCLASS));
            k.kernel().sleep();
            assertThat(k.kernel().isAsleep()).isTrue();
            k.kernel().wake();
            assertThat(KernelEvents.codeName(so.receive(1, TimeUnit.SECONDS))).isEqualTo("KEV_POWER_SLEEP");
            assertThat(KernelEvents.codeName(so.receive(1, TimeUnit.SECONDS))).isEqualTo("KEV_POWER_WAKE");
        }
    }

    @Test void cancelledAndThrowingListenersStopReceiving() throws Exception {
        int v = kpi.events().vendorCodeFind("com.example");
        List<Integer> got = new ArrayList<>();
        EventKpi.Subscription s = kpi.events().subscribe(EventFilter.ANY, e -> got.add(e.code()));
        EventKpi.Subscription bad = kpi.events().subscribe(EventFilter.ANY, e -> { throw new IllegalStateException(); });
        kpi.events().post(v, 1, 1, 1, null);
        s.cancel();
        kpi.events().post(v, 1, 1, 2, null);
        for (int i = 0; i < k.kernel().nke().policy().faultLimit(); i++) kpi.events().post(v, 1, 1, 3, null);
        k.awaitDetached();
        assertThat(got).containsExactly(1);
        assertThat(s.state()).isEqualTo(Registration.State.DETACHED);
        assertThat(bad.state()).isEqualTo(Registration.State.FAULTED);
        assertThat(kpi.registrations()).isEmpty();
    }
}
