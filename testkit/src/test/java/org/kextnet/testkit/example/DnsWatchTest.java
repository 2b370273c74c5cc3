package org.kextnet.testkit.example;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.kextnet.testkit.*;

class DnsWatchTest {
    @Test void blockedSourcesAreDroppedAndDnsIsCounted() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {               // wire0 = 10.0.0.1/24, peer 10.0.0.2
            DnsWatch ext = new DnsWatch();
            assertThat(ext.start(k.kpi("com.example.dnswatch"))).isZero();
            TestSocket so = k.openUdp(53);                                // an application's socket

            k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 53, "q".getBytes()));
            k.injectIp(Frames.udpPacket(Frames.ip("10.0.0.99"), k.ip(), 4000, 53, "x".getBytes()));
            k.runPending();

            assertThat(ext.dns.get()).isEqualTo(1);
            assertThat(so.available()).isEqualTo(1);                      // the blocked one never arrived
            assertThat(k.stat(Counter.IP_FILTERED)).isEqualTo(1);
            so.close();
            assertThat(k.leakedBuffers()).isZero();                       // every packet was freed
        }                                                                 // close() removes the extension's registrations
    }

    @Test void delayedPacketsArriveOnceAfterTheCallout() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {
            DnsWatch ext = new DnsWatch();
            ext.start(k.kpi("com.example.dnswatch"));
            TestSocket so = k.openUdp(53);
            for (int i = 0; i < 3; i++) k.injectIp(Frames.udpPacket(Frames.ip("10.0.0.100"), k.ip(), 4000, 53, new byte[] {(byte) i}));
            k.runPending();
            assertThat(ext.dns.get()).isEqualTo(3);
            for (int i = 0; i < 3; i++) {
                Datagram d = so.receive(5, TimeUnit.SECONDS);            // released by the callout, in order
                assertThat(d).isNotNull();
                assertThat(d.data()).containsExactly(i);
            }
            assertThat(ext.dns.get()).isEqualTo(3);                       // re-injected after the filter: not seen twice
            so.close();
        }
    }

    @Test void onAManualClockTheCalloutRunsWhenTheTestMovesTime() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build()) {
            DnsWatch ext = new DnsWatch();
            ext.start(k.kpi("com.example.dnswatch"));
            TestSocket so = k.openUdp(53);
            k.injectIp(Frames.udpPacket(Frames.ip("10.0.0.100"), k.ip(), 4000, 53, "later".getBytes()));
            k.runPending();
            assertThat(so.available()).isZero();                          // held by the filter
            k.advanceTime(10, TimeUnit.MILLISECONDS);                     // the callout's period: it runs now, here
            assertThat(new String(so.tryReceive().data())).isEqualTo("later");
            so.close();
        }
    }
}
