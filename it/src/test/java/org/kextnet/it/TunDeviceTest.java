package org.kextnet.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.InterfaceTypes;
import org.kextnet.kernel.inet.udp.UdpEchoService;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.link.tun.TunDriver;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.stat.Stat;

/** The TUN/TAP interface types themselves: creation options, the Linux device's life, several queues, bad frames. */
class TunDeviceTest {
    private final Teardown teardown = new Teardown();
    private NetNs ns;
    private Kernel kernel;

    @AfterEach void tearDown() throws Exception {
        teardown.close();
    }

    @Test void tunAndTapAreRegisteredInterfaceTypes() {
        assertThat(InterfaceTypes.names()).contains("tun", "tap");
    }

    @Test void badOptionsAreRejectedWithTheirName() {
        kernel = teardown.add(Stack.kernel("it-opts"));
        var tun = InterfaceTypes.find("tun");
        assertThatThrownBy(() -> tun.create(kernel, "tun0", Map.of("bogus", "1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'bogus'");
        assertThatThrownBy(() -> tun.create(kernel, "tun0", Map.of("queues", "0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("queues");
        assertThatThrownBy(() -> tun.create(kernel, "tun0", Map.of("queues", "two")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("queues");
        assertThatThrownBy(() -> tun.create(kernel, "tun0", Map.of("peer", "10.1.2")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("peer");
        assertThatThrownBy(() -> tun.create(kernel, "tun0", Map.of("lladdr", "02:00:00:00:00:01")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lladdr");
        assertThatThrownBy(() -> InterfaceTypes.find("tap").create(kernel, "tap0", Map.of("lladdr", "01:00:5e:00:00:01")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multicast");
        assertThat(kernel.findInterface("tun0")).isNull();
    }

    @Test void theLinuxDeviceIsUpWhileTheInterfaceLivesAndGoneAfter() {
        Requirements.require();
        ns = teardown.add(NetNs.create("dev")); // only to own the device name for clean-up; the device stays in this namespace
        kernel = teardown.add(Stack.kernel("it-dev"));
        String dev = ns.device("kd");
        Interface ifp = InterfaceTypes.find("tun").create(kernel, "tun7", Map.of("dev", dev, "mtu", "1400"));

        assertThat(ifp.family()).isEqualTo(IfFamily.TUN);
        assertThat(ifp.mtu()).isEqualTo(1400);
        String link = NetNs.mustRun(NetNs.SHORT, "ip", "-d", "link", "show", dev);
        assertThat(link).contains("mtu 1400").containsPattern("<[^>]*\\bUP\\b").contains("tun type tun pi off");

        kernel.destroyInterface("tun7");

        assertThat(NetNs.run(NetNs.SHORT, null, List.of("ip", "link", "show", dev)).ok()).as("device removed").isFalse();
    }

    @Test void aTapDeviceIsAnEthernetInterfaceWithALocallyAdministeredAddress() {
        Requirements.require();
        ns = teardown.add(NetNs.create("dev"));
        kernel = teardown.add(Stack.kernel("it-tapdev"));
        Interface ifp = Stack.attach(kernel, ns, "tap3", TunDevice.Kind.TAP, "10.127.3.1/24", "10.127.3.2/24");
        assertThat(ifp.family()).isEqualTo(IfFamily.ETHERNET);
        assertThat(ifp.lladdr() >>> 40).as("first octet").isEqualTo(0x02);
        assertThat(ns.ip("-d", "link", "show", Stack.dev(ifp))).contains("tun type tap");
    }

    @Test void severalQueuesEachWithAReaderAnswerSeveralFlows() throws Exception {
        Requirements.require("ping");
        ns = teardown.add(NetNs.create("mq"));
        kernel = teardown.add(Stack.kernel("it-mq"));
        Interface tun = Stack.attach(kernel, ns, "tun0", TunDevice.Kind.TUN, "10.127.1.1/24", "10.127.1.2/24", "queues", "3");
        teardown.add(UdpEchoService.start(kernel.udp(), UdpEchoService.PORT));

        assertThat(((TunDriver) tun.driver()).device().queues()).isEqualTo(3);
        assertThat(ns.ip("-d", "link", "show", Stack.dev(tun))).contains("multi_queue").contains("numqueues 3");
        assertThat(Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith("kextnet-it-mq-tun0-q"))).hasSize(3);

        assertThat(ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "3", "-W", "2", "10.127.1.2"))
                .contains("3 packets transmitted, 3 received");
        // Flows from different source ports hash to different queues; each reply leaves on its flow's
        // queue. 16 flows land on one queue of 3 with probability 3^-15: the spread is checked.
        String flows = """
                import socket
                socks = []
                for i in range(16):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.bind(('10.127.1.1', 0))
                    s.settimeout(5)
                    s.sendto(b'flow %d' % i, ('10.127.1.2', 7))
                    socks.append(s)
                ok = sum(1 for i, s in enumerate(socks) if s.recvfrom(100)[0] == b'flow %d' % i)
                print('echoed', ok)
                """;
        assertThat(ns.mustExec(Duration.ofSeconds(30), Requirements.PYTHON, "-c", flows)).contains("echoed 16");
        assertThat(kernel.stats().get(Stat.UDP_OUT)).isEqualTo(16);
        TunDriver drv = (TunDriver) tun.driver();
        int busy = 0;
        for (int q = 0; q < 3; q++) if (drv.queueReceived(q) > 0) busy++;
        assertThat(busy).as("queues that received frames").isGreaterThanOrEqualTo(2);
    }

    @Test void malformedFramesFromTheDeviceAreCountedAndDropped() throws Exception {
        Requirements.require("ping", "scapy");
        ns = teardown.add(NetNs.create("bad"));
        kernel = teardown.add(Stack.kernel("it-bad"));
        Interface tun = Stack.attach(kernel, ns, "tun0", TunDevice.Kind.TUN, "10.127.2.1/24", "10.127.2.2/24");
        String script = """
                import sys
                from scapy.all import IP, ICMP, Raw, sendp, conf
                conf.verb = 0
                dev = sys.argv[1]
                good = bytes(IP(src='10.127.2.1', dst='10.127.2.2') / ICMP() / Raw(b'x' * 32))
                frames = [
                    b'\\x45\\x00',                          # shorter than an IPv4 header
                    good[:30],                              # total length says 60, 30 arrived
                    b'\\x46' + good[1:],                    # header length 24 but no options: checksum and layout wrong
                    b'\\x65' + good[1:],                    # version 6 nibble, IPv4 body
                    bytes(IP(src='10.127.2.1', dst='10.127.2.2', ihl=4) / ICMP()),  # header length 16 < 20
                ]
                for f in frames:
                    sendp(Raw(f), iface=dev)
                print('sent', len(frames))
                """;
        assertThat(ns.mustExec(Duration.ofSeconds(60), Requirements.PYTHON, "-c", script, Stack.dev(tun))).contains("sent 5");

        Stack.eventually(() -> {
            long dropped = 0;
            for (Stat s : new Stat[] {Stat.LINK_RUNT, Stat.LINK_UNKNOWN_TYPE, Stat.IP_TOO_SHORT, Stat.IP_TOO_SMALL,
                    Stat.IP_BAD_HLEN, Stat.IP_BAD_LEN, Stat.IP_BAD_VERSION, Stat.IP_BAD_SUM}) {
                dropped += kernel.stats().get(s);
            }
            assertThat(dropped).as("every malformed frame counted under a reason:\n%s", kernel.stats().format(false)).isEqualTo(5);
        });
        assertThat(kernel.stats().get(Stat.ICMP_OUT_ECHO_REPLY)).isZero();
        // The reader thread survived all of it.
        assertThat(ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "2", "-W", "2", "10.127.2.2"))
                .contains("2 packets transmitted, 2 received");
    }

    @Test void framesLargerThanTheInterfaceMtuAreCountedAsInputErrors() {
        Requirements.require("ping");
        ns = teardown.add(NetNs.create("big"));
        kernel = teardown.add(Stack.kernel("it-big"));
        Interface tun = Stack.attach(kernel, ns, "tun0", TunDevice.Kind.TUN, "10.127.4.1/24", "10.127.4.2/24");
        // Linux's side now allows 4000-byte packets; ours stays at 1500.
        ns.ip("link", "set", "dev", Stack.dev(tun), "mtu", "4000");

        NetNs.Result big = ns.exec(Duration.ofSeconds(30), "ping", "-c", "2", "-W", "1", "-s", "3000", "-M", "do", "10.127.4.2");

        assertThat(big.output()).contains("2 packets transmitted, 0 received");
        Stack.eventually(() -> assertThat(tun.counters().get(org.kextnet.kernel.net.IfCounters.IERRORS)).isEqualTo(2));
        assertThat(kernel.stats().get(Stat.ICMP_IN_ECHO)).isZero();
        assertThat(ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "2", "-W", "2", "10.127.4.2"))
                .contains("2 packets transmitted, 2 received");
    }
}
