package org.kextnet.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;

/** Linux, in a namespace, pings the stack through a TUN device and through a TAP device. */
class TunTapPingTest {
    private final Teardown teardown = new Teardown();
    private NetNs ns;
    private Kernel kernel;

    @AfterEach void tearDown() throws Exception {
        teardown.close();
        if (ns != null) assertThat(ns.exists()).as("namespace deleted").isFalse();
    }

    @Test void linuxPingsTheStackOverTun() {
        Requirements.require("ping");
        ns = teardown.add(NetNs.create("ping"));
        kernel = teardown.add(Stack.kernel("it-ping-tun"));
        Interface tun = Stack.attach(kernel, ns, "tun0", TunDevice.Kind.TUN, "10.123.1.1/24", "10.123.1.2/24");

        String out = ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "3", "-W", "2", "10.123.1.2");

        assertThat(out).contains("3 packets transmitted, 3 received");
        assertThat(kernel.stats().get(Stat.ICMP_IN_ECHO)).isEqualTo(3);
        assertThat(kernel.stats().get(Stat.ICMP_OUT_ECHO_REPLY)).isEqualTo(3);
        assertThat(tun.counters().get(IfCounters.IPACKETS)).isGreaterThanOrEqualTo(3);
        Stack.eventually(() -> assertThat(tun.counters().get(IfCounters.OPACKETS)).isGreaterThanOrEqualTo(3));
        assertThat(tun.counters().get(IfCounters.IERRORS)).isZero();
    }

    @Test void linuxPingsTheStackOverTapAndResolvesItsMacWithArp() {
        Requirements.require("ping");
        ns = teardown.add(NetNs.create("ping"));
        kernel = teardown.add(Stack.kernel("it-ping-tap"));
        Interface tap = Stack.attach(kernel, ns, "tap0", TunDevice.Kind.TAP, "10.123.2.1/24", "10.123.2.2/24",
                "lladdr", "02:6b:78:74:00:02");

        String out = ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "3", "-W", "2", "10.123.2.2");

        assertThat(out).contains("3 packets transmitted, 3 received");
        // Linux learned our link address from our ARP reply ...
        String neigh = ns.ip("neigh", "show", "10.123.2.2");
        assertThat(neigh).contains("lladdr 02:6b:78:74:00:02");
        assertThat(kernel.stats().get(Stat.ARP_RX_REQUEST)).isGreaterThanOrEqualTo(1);
        assertThat(kernel.stats().get(Stat.ARP_TX_REPLY)).isGreaterThanOrEqualTo(1);
        // ... and we learned Linux's, or the replies could not have been framed.
        String linuxMac = ns.ip("link", "show", Stack.dev(tap)).lines()
                .filter(l -> l.contains("link/ether")).findFirst().orElseThrow().trim().split("\\s+")[1];
        int peer = Ipv4.parse("10.123.2.1");
        assertThat(kernel.arp(tap).entries()).anySatisfy(e -> {
            assertThat(e.ip()).isEqualTo(peer);
            assertThat(e.mac()).isEqualTo(Long.parseLong(linuxMac.replace(":", ""), 16));
        });
        assertThat(kernel.stats().get(Stat.ICMP_OUT_ECHO_REPLY)).isEqualTo(3);
    }
}
