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

/**
 * The stack as a router: a TUN whose Linux side is in namespace A and a TAP whose Linux side is in
 * namespace B. Linux in A pings Linux in B through the stack (L3 on one side, Ethernet and ARP on the other).
 */
class ForwardingTest {
    private final Teardown teardown = new Teardown();
    private NetNs a, b;
    private Kernel kernel;

    @AfterEach void tearDown() throws Exception {
        teardown.close();
    }

    @Test void linuxInOneNamespacePingsLinuxInAnotherThroughTheStack() {
        Requirements.require("ping");
        a = teardown.add(NetNs.create("fwa"));
        b = teardown.add(NetNs.create("fwb"));
        kernel = teardown.add(Stack.kernel("it-fwd"));
        Interface tun = Stack.attach(kernel, a, "tun0", TunDevice.Kind.TUN, "10.125.1.1/24", "10.125.1.2/24");
        Interface tap = Stack.attach(kernel, b, "tap0", TunDevice.Kind.TAP, "10.125.2.1/24", "10.125.2.2/24");
        kernel.setForwarding(true);
        a.ip("route", "add", "10.125.2.0/24", "via", "10.125.1.2");
        b.ip("route", "add", "10.125.1.0/24", "via", "10.125.2.2");

        String out = a.mustExec(Duration.ofSeconds(30), "ping", "-c", "3", "-W", "2", "10.125.2.1");

        assertThat(out).contains("3 packets transmitted, 3 received");
        // B's replies left B with TTL 64 and crossed one router: us.
        assertThat(out).contains("ttl=63");
        assertThat(kernel.stats().get(Stat.IP_FORWARDED)).isGreaterThanOrEqualTo(6);
        assertThat(kernel.stats().get(Stat.ICMP_IN_ECHO)).as("nothing was for the stack itself").isZero();
        Stack.eventually(() -> {
            assertThat(tun.counters().get(IfCounters.OPACKETS)).isGreaterThanOrEqualTo(3);
            assertThat(tap.counters().get(IfCounters.OPACKETS)).isGreaterThanOrEqualTo(3);
        });
    }

    @Test void withoutForwardingTheStackDoesNotRoute() {
        Requirements.require("ping");
        a = teardown.add(NetNs.create("fwa"));
        b = teardown.add(NetNs.create("fwb"));
        kernel = teardown.add(Stack.kernel("it-nofwd"));
        Stack.attach(kernel, a, "tun0", TunDevice.Kind.TUN, "10.125.1.1/24", "10.125.1.2/24");
        Stack.attach(kernel, b, "tap0", TunDevice.Kind.TAP, "10.125.2.1/24", "10.125.2.2/24");
        a.ip("route", "add", "10.125.2.0/24", "via", "10.125.1.2");
        b.ip("route", "add", "10.125.1.0/24", "via", "10.125.2.2");

        NetNs.Result r = a.exec(Duration.ofSeconds(30), "ping", "-c", "2", "-W", "1", "10.125.2.1");

        assertThat(r.output()).contains("2 packets transmitted, 0 received");
        assertThat(kernel.stats().get(Stat.IP_CANT_FORWARD)).isEqualTo(2);
        assertThat(kernel.stats().get(Stat.IP_FORWARDED)).isZero();
    }
}
