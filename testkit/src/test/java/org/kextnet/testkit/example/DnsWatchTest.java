package org.kextnet.testkit.example;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;

/** The test of docs/extensions.md, plus the delayed path. */
class DnsWatchTest {
    @Test void blockedSourcesAreDroppedAndDnsIsCounted() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {               // wire0 = 10.0.0.1/24, peer 10.0.0.2
            DnsWatch ext = new DnsWatch();
            assertThat(ext.start(k.kpi("com.example.dnswatch"))).isZero();
            UdpSocket so = k.kernel().udp().open().bind(0, 53);

            k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 53, "q".getBytes()));
            k.injectIp(Frames.udpPacket(Frames.ip("10.0.0.99"), k.ip(), 4000, 53, "x".getBytes()));
            k.runPending();

            assertThat(ext.dns.get()).isEqualTo(1);
            assertThat(so.available()).isEqualTo(1);                      // the blocked one never arrived
            assertThat(k.stat(Stat.IP_FILTERED)).isEqualTo(1);
            so.close();
        }
    }

    @Test void delayedPacketsArriveOnceAfterTheCallout() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {
            DnsWatch ext = new DnsWatch();
            ext.start(k.kpi("com.example.dnswatch"));
            UdpSocket so = k.kernel().udp().open().bind(0, 53);
            for (int i = 0; i < 3; i++) k.injectIp(Frames.udpPacket(Frames.ip("10.0.0.100"), k.ip(), 4000, 53, new byte[] {(byte) i}));
            k.runPending();
            assertThat(ext.dns.get()).isEqualTo(3);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4);
            for (int i = 0; i < 3; i++) {
                b.clear();
                assertThat(so.receive(b, 5, TimeUnit.SECONDS)).isNotNull();   // released by the callout, in order
                assertThat(b.get(0)).isEqualTo((byte) i);
            }
            assertThat(ext.dns.get()).isEqualTo(3);                        // re-injected after the filter: not seen twice
            so.close();
        }
    }
}
