package org.kextnet.kernel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.inet.tcp.TcpServiceTest;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.net.IfFlags;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

class KernelCommandsTest {
    private final TestNet net = TestNet.oneLink();
    private final KernelCommands commands = new KernelCommands(net.kernel);

    @AfterEach void noLeaks() {
        commands.closeServices();
        net.close();
    }

    private String run(String line) { return commands.execute(line); }

    /** Everything a command can change, as the show commands print it. */
    private String state() {
        return run("ifconfig") + run("route show") + run("arp -a") + run("sysctl net.inet.ip.forwarding") + run("netstat -a")
                + run("sysctl kern.nke.ipfilter.soft_ms") + run("sysctl kern.nke.ipfilter.hard_ms") + run("sysctl net.inet.tcp.cc.algorithm");
    }

    @Test void createsAndConfiguresAMemoryWirePair() {
        run("ifconfig mw0 create memwire peer mw1 loss 0 delay-us 0 duplicate 0 reorder 0 seed 7");
        run("ifconfig mw0 inet 10.5.0.1/24 mtu 1400 up");

        Interface mw0 = net.kernel.findInterface("mw0");
        assertThat(net.kernel.findInterface("mw1")).isNotNull();
        assertThat(mw0.mtu()).isEqualTo(1400);
        assertThat(mw0.isUp()).isTrue();
        assertThat(mw0.hasAddress(Ipv4.parse("10.5.0.1"))).isTrue();
        assertThat(net.kernel.routes().lookup(Ipv4.parse("10.5.0.9")).ifp()).isSameAs(mw0);
        assertThat(run("ifconfig mw0")).contains("mw0: flags=", "UP", "mtu 1400", "inet 10.5.0.1 netmask 0xffffff00 broadcast 10.5.0.255");
        run("ifconfig mw0 down");
        assertThat(mw0.flags() & IfFlags.UP).isZero();
        run("ifconfig mw0 destroy");
        assertThat(net.kernel.findInterface("mw0")).isNull();
        assertThat(net.kernel.routes().lookup(Ipv4.parse("10.5.0.9"))).isNull();
    }

    @Test void routesArpAndSysctl() {
        run("route add default 10.0.0.2");
        run("route add 172.16.0.0/12 -interface em0");
        run("arp -s 10.0.0.9 02:00:00:00:00:09 em0");
        run("sysctl net.inet.ip.forwarding=1");

        assertThat(run("route show")).contains("default", "10.0.0.2", "172.16.0.0/12");
        assertThat(run("arp -a")).contains("(10.0.0.9) at 02:00:00:00:00:09 on em0 permanent");
        assertThat(run("sysctl net.inet.ip.forwarding")).isEqualTo("net.inet.ip.forwarding: 1\n");
        assertThat(net.kernel.forwarding()).isTrue();

        run("route delete default");
        run("arp -d 10.0.0.9");
        run("sysctl net.inet.ip.forwarding=off");
        assertThat(run("route show")).doesNotContain("default");
        assertThat(run("arp -a")).doesNotContain("10.0.0.9");
        assertThat(net.kernel.forwarding()).isFalse();
    }

    @Test void sysctlChoosesTheCongestionControlOfNewConnections() throws Exception {
        assertThat(run("sysctl net.inet.tcp.cc.algorithm")).isEqualTo("net.inet.tcp.cc.algorithm: cubic\n");
        assertThat(run("sysctl net.inet.tcp.cc.available")).startsWith("net.inet.tcp.cc.available: ").contains(" bbr", " cubic", " newreno");
        run("sysctl net.inet.tcp.cc.algorithm=bbr");
        assertThat(run("sysctl net.inet.tcp.cc.algorithm")).isEqualTo("net.inet.tcp.cc.algorithm: bbr\n");
        assertThat(net.kernel.tcp().stack().config().congestionControl).isEqualTo("bbr");
        assertThat(run("sysctl -j net.inet.tcp.cc.algorithm")).isEqualTo("{\"name\":\"net.inet.tcp.cc.algorithm\",\"value\":\"bbr\"}\n");
        // connections made now run it, both ends
        run("service tcp-discard 9");
        try (TcpSocket so = net.kernel.tcp().open()) {
            so.setTimeout(10, TimeUnit.SECONDS);
            so.connect(Ipv4.parse("127.0.0.1"), 9);
            assertThat(run("netstat -t").lines().skip(1)).hasSize(2).allMatch(l -> l.endsWith(" bbr"))
                    .anyMatch(l -> l.contains("127.0.0.1.9            ESTABLISHED")); // the client's, whose controller runs
        }
        assertThatThrownBy(() -> run("sysctl net.inet.tcp.cc.algorithm=vegas")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown congestion control 'vegas'").hasMessageContaining("bbr, cubic, newreno");
        assertThat(run("sysctl net.inet.tcp.cc.algorithm")).as("unchanged").isEqualTo("net.inet.tcp.cc.algorithm: bbr\n");
        assertThat(KernelCommands.isMutating("sysctl net.inet.tcp.cc.algorithm")).isFalse();
        assertThat(KernelCommands.isMutating("sysctl net.inet.tcp.cc.algorithm=newreno")).isTrue();
    }

    @Test void sysctlSetsTheCallBudgetsOfEachKindOfHead() {
        assertThat(run("sysctl kern.nke.ipfilter.soft_ms")).isEqualTo("kern.nke.ipfilter.soft_ms: 10\n");
        assertThat(run("sysctl kern.nke.kctl.hard_ms")).isEqualTo("kern.nke.kctl.hard_ms: 10000\n");
        run("sysctl kern.nke.ipfilter.hard_ms=500");
        run("sysctl kern.nke.callout.soft_ms=2");
        assertThat(net.kernel.callLimits().hard(Head.IP_FILTER)).isEqualTo(500_000_000L);
        assertThat(net.kernel.callLimits().soft(Head.CALLOUT)).isEqualTo(2_000_000L);
        assertThat(net.kernel.callLimits().hard(Head.INTERFACE_FILTER)).as("the other heads unchanged").isEqualTo(1_000_000_000L);
        assertThat(net.kernel.watchdog().tickNanos()).as("the watchdog ticks at a quarter of the smallest soft budget").isEqualTo(500_000L);
        assertThat(KernelCommands.isMutating("sysctl kern.nke.ipfilter.hard_ms")).isFalse();
        assertThat(KernelCommands.isMutating("sysctl kern.nke.ipfilter.hard_ms=500")).isTrue();
    }

    @Test void servicesAndNetstat() {
        run("service udp-echo 7");
        net.peer0().send(Pkt.udp(1000, 7, "echo"));
        net.peer0().recv();

        assertThat(run("netstat -a")).contains("udp4", "*.7");
        assertThat(run("netstat -s")).contains("udp:", "1 delivered");
        assertThat(run("netstat -i")).contains("em0", "lo0");
        assertThat(run("netstat -r")).contains("10.0.0.0/24");
        assertThat(net.stat(Stat.UDP_DELIVERED)).isEqualTo(1);
    }

    @Test void commentsAndBlankLinesDoNothing() {
        String before = state();
        assertThat(run("")).isEmpty();
        assertThat(run("   # ifconfig em0 down")).isEmpty();
        assertThat(state()).isEqualTo(before);
    }

    @Test void classifiesCommandsThatChangeState() {
        assertThat(KernelCommands.isMutating("ifconfig")).isFalse();
        assertThat(KernelCommands.isMutating("ifconfig em0")).isFalse();
        assertThat(KernelCommands.isMutating("ifconfig em0 up")).isTrue();
        assertThat(KernelCommands.isMutating("netstat -s")).isFalse();
        assertThat(KernelCommands.isMutating("arp -a")).isFalse();
        assertThat(KernelCommands.isMutating("arp -d 10.0.0.9")).isTrue();
        assertThat(KernelCommands.isMutating("route show")).isFalse();
        assertThat(KernelCommands.isMutating("route add default 10.0.0.2")).isTrue();
        assertThat(KernelCommands.isMutating("sysctl net.inet.ip.forwarding")).isFalse();
        assertThat(KernelCommands.isMutating("sysctl net.inet.ip.forwarding=1")).isTrue();
        assertThat(KernelCommands.isMutating("# comment")).isFalse();
    }

    /** Each bad line fails with a message naming the problem and leaves every setting as it was. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            frobnicate                                        | unknown command 'frobnicate'
            ifconfig nosuch up                                | no interface nosuch
            ifconfig em0 inet 10.9.0.1/24 mtu 99999           | mtu 99999 out of range
            ifconfig em0 inet 10.9.0.1/24 bogus               | unknown word 'bogus'
            ifconfig em0 inet 10.9.0.1/24 mtu                 | missing value after 'mtu'
            ifconfig em0 inet 10.9.0.256/24 down              | bad IPv4 address
            ifconfig em0 inet 10.9.0.1/33 down                | prefix length 33
            ifconfig em0 inet 10.9.0.1/x down                 | bad prefix length
            ifconfig em0 inet 10.0.0.1/24                     | already assigned
            ifconfig em0 delete 10.9.9.9 down                 | no address 10.9.9.9
            ifconfig em0 mtu abc                              | bad mtu 'abc'
            ifconfig mw0 create                               | missing interface type
            ifconfig mw0 create warp                          | unknown interface type 'warp'
            ifconfig mw0 create memwire peer                  | 'key value' pairs
            ifconfig mw0 create memwire color blue            | unknown option 'color'
            ifconfig mw0 create memwire loss 2                | loss rate
            ifconfig mw0 create memwire loss abc              | loss 'abc'
            ifconfig mw0 create memwire delay-us soon         | delay-us 'soon'
            ifconfig mw0 create memwire duplicate 1.5         | duplicate rate
            ifconfig mw0 create memwire reorder -1            | reorder rate
            ifconfig mw0 create memwire seed x                | seed 'x'
            ifconfig mw0 create memwire peer mw0              | mw0
            ifconfig mw0 create memwire peer em0              | interface em0 exists
            ifconfig em0 create memwire                       | interface em0 exists
            ifconfig lo1 create loopback extra 1              | unknown option 'extra'
            ifconfig lo0 destroy                              | lo0 cannot be destroyed
            ifconfig nosuch destroy                           | no interface nosuch
            route add                                         | usage: route add
            route add 10.5.0.0/16 10.9.9.9                    | gateway 10.9.9.9 is not on a connected network
            route add 10.5.0.0/16 -interface nosuch           | no interface nosuch
            route add 10.5.0.0/16 -interface                  | missing value after '-interface'
            route add 10.0.0.0/24 -interface em0              | exists
            route delete 10.77.0.0/16                         | no route to 10.77.0.0/16
            route flip                                        | unknown subcommand 'flip'
            arp -s 10.0.0.9 zz:00:00:00:00:01 em0             | bad MAC address
            arp -s 10.0.0.9 02:00:00:00:00 em0                | bad MAC address
            arp -s 10.0.0.9 02:00:00:00:00:+1 em0             | bad MAC address
            arp -s 10.0.0.9 02:00:00:00:00:01                 | usage: arp -s
            arp -s 10.0.0.9 02:00:00:00:00:01 lo0             | no Ethernet interface lo0
            arp -d 10.0.0.99                                  | no ARP entry for 10.0.0.99
            arp -z                                            | unknown option '-z'
            sysctl                                            | usage: sysctl
            sysctl net.inet.ip.forwarding=2                   | takes 0 or 1
            sysctl kern.maxfiles=1                            | unknown sysctl 'kern.maxfiles'
            sysctl net.inet.tcp.cc.algorithm=vegas            | unknown congestion control 'vegas'
            sysctl net.inet.tcp.cc.algorithm=                 | unknown congestion control ''
            sysctl net.inet.tcp.cc.available=bbr              | read-only
            sysctl net.inet.tcp.cc.nosuch                     | unknown sysctl 'net.inet.tcp.cc.nosuch'
            sysctl kern.nke.ipfilter.hard_ms=15               | under twice the soft budget
            sysctl kern.nke.ipfilter.soft_ms=0                | under 1 ms
            sysctl kern.nke.nosuch.hard_ms=900                | unknown sysctl 'kern.nke.nosuch.hard_ms'
            sysctl kern.nke.ipfilter.hard_ms=x                | bad kern.nke.ipfilter.hard_ms 'x'
            service tcp-bogus                                 | unknown service 'tcp-bogus'
            service                                           | usage: service udp-echo|tcp-echo
            service tcp-echo 7 8                              | usage: service udp-echo|tcp-echo
            service udp-echo abc                              | bad port 'abc'
            service udp-echo 70000                            | out of range 1..65535
            service tcp-discard 0                             | out of range 1..65535
            netstat -s -p                                     | usage: netstat -s [-p PROTOCOL]
            netstat -x                                        | unknown option '-x'
            """)
    void aBadLineChangesNothing(String line, String problem) {
        run("arp -s 10.0.0.8 02:00:00:00:00:08 em0");
        String before = state();

        assertThatThrownBy(() -> run(line)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(problem);
        assertThat(state()).isEqualTo(before);
    }

    @Test void aPortInUseIsRefusedForAService() {
        run("service udp-echo 7");
        assertThatThrownBy(() -> run("service udp-echo 7")).hasMessageContaining("EADDRINUSE");
        run("service tcp-echo");
        assertThatThrownBy(() -> run("service tcp-discard 7")).hasMessageContaining("EADDRINUSE");
        assertThat(run("netstat -a").lines().filter(l -> l.contains("LISTEN"))).hasSize(1);
    }

    /** The TCP services answer on loopback, and netstat lists their listeners, connections and counters. */
    @Test void tcpServicesAndTheirListing() throws Exception {
        run("service tcp-echo");
        run("service tcp-discard");
        run("service tcp-chargen 1919");
        int lo = Ipv4.parse("127.0.0.1");
        try (TcpSocket echo = net.kernel.tcp().open(); TcpSocket chargen = net.kernel.tcp().open()) {
            echo.setTimeout(10, TimeUnit.SECONDS);
            chargen.setTimeout(10, TimeUnit.SECONDS);
            echo.connect(lo, 7);
            echo.write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer back = ByteBuffer.allocate(5);
            while (back.hasRemaining()) assertThat(echo.read(back)).isPositive();
            assertThat(new String(back.array(), StandardCharsets.US_ASCII)).isEqualTo("hello");
            chargen.connect(lo, 1919);
            ByteBuffer line = ByteBuffer.allocate(74);
            while (line.hasRemaining()) assertThat(chargen.read(line)).isPositive();
            assertThat(new String(line.array(), StandardCharsets.US_ASCII)).isEqualTo(TcpServiceTest.line(0) + "\r\n");

            String listing = run("netstat -a");
            assertThat(listing).contains("Proto", "Recv-Q", "Send-Q", "(state)");
            assertThat(listing.lines().filter(l -> l.startsWith("tcp4") && l.endsWith("LISTEN")))
                    .hasSize(3).anyMatch(l -> l.contains("*.7 ")).anyMatch(l -> l.contains("*.9 ")).anyMatch(l -> l.contains("*.1919 "));
            assertThat(listing.lines().filter(l -> l.contains("127.0.0.1.7 ") && l.endsWith("ESTABLISHED"))).hasSize(2); // both ends

            String tcp = run("netstat -t");
            assertThat(tcp.lines().findFirst().orElseThrow()).contains("State", "RTT(ms)", "RTTVAR", "RTO", "Cwnd", "Ssthresh", "InFlight", "Rexmt", "CC");
            assertThat(tcp.lines().skip(1)).hasSize(4) // echo and chargen, both ends of each
                    .allMatch(l -> l.startsWith("tcp4") && l.contains("ESTABLISHED") && l.endsWith("cubic"));

            String stats = run("netstat -s -p tcp");
            assertThat(stats).startsWith("tcp:\n").contains("packets sent", "connection accepts").doesNotContain("udp:", "ip:");
        }
    }
}
