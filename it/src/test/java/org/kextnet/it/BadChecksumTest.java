package org.kextnet.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.inet.udp.UdpEchoService;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.stat.Stat;

/**
 * scapy writes packets with a bad IPv4 header checksum and UDP datagrams with a bad checksum into the
 * TUN (through a packet socket, so Linux does not fix them up): the stack counts and drops each, answers
 * none, and still answers ping afterwards.
 */
class BadChecksumTest {
    private final Teardown teardown = new Teardown();
    /** Builds each packet, then replaces the checksum by a wrong one (the right one with bits flipped). */
    private static final String SCAPY = """
            import sys
            from scapy.all import IP, ICMP, UDP, Raw, sendp, conf
            conf.verb = 0
            dev, src, dst, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
            ip = IP(src=src, dst=dst) / ICMP(id=7, seq=1) / Raw(b'bad ip checksum')
            ip[IP].chksum = IP(bytes(ip)).chksum ^ 0x5a5a
            udp = IP(src=src, dst=dst) / UDP(sport=40000, dport=7) / Raw(b'bad udp checksum')
            udp[UDP].chksum = IP(bytes(udp))[UDP].chksum ^ 0x5a5a
            sendp([ip] * n + [udp] * n, iface=dev)
            print('sent', 2 * n)
            """;

    private NetNs ns;
    private Kernel kernel;

    @AfterEach void tearDown() throws Exception {
        teardown.close();
    }

    @Test void packetsWithBadChecksumsAreCountedAndDropped() throws Exception {
        Requirements.require("ping", "scapy");
        ns = teardown.add(NetNs.create("csum"));
        kernel = teardown.add(Stack.kernel("it-csum"));
        Interface tun = Stack.attach(kernel, ns, "tun0", TunDevice.Kind.TUN, "10.126.1.1/24", "10.126.1.2/24");
        teardown.add(UdpEchoService.start(kernel.udp(), UdpEchoService.PORT));
        int n = 5;

        String out = ns.mustExec(Duration.ofSeconds(60), Requirements.PYTHON, "-c", SCAPY,
                Stack.dev(tun), "10.126.1.1", "10.126.1.2", Integer.toString(n));
        assertThat(out).contains("sent " + (2 * n));

        Stack.eventually(() -> {
            assertThat(kernel.stats().get(Stat.IP_BAD_SUM)).isEqualTo(n);
            assertThat(kernel.stats().get(Stat.UDP_BAD_SUM)).isEqualTo(n);
        });
        assertThat(kernel.stats().get(Stat.ICMP_IN_ECHO)).as("no bad packet reached ICMP").isZero();
        assertThat(kernel.stats().get(Stat.UDP_IN)).as("no bad datagram reached a socket").isZero();
        assertThat(kernel.stats().get(Stat.UDP_OUT)).isZero();

        String ping = ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "2", "-W", "2", "10.126.1.2");
        assertThat(ping).contains("2 packets transmitted, 2 received");
        assertThat(kernel.stats().get(Stat.IP_BAD_SUM)).isEqualTo(n);
    }
}
