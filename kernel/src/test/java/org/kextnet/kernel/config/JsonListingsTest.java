package org.kextnet.kernel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * {@code -j} on every admin listing: each is one JSON document that a real parser (Jackson) reads, with the kernel's
 * values under the documented names, and they move with traffic.
 */
class JsonListingsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final KernelHarness k = KernelHarness.create();
    private final KernelCommands commands = new KernelCommands(k.kernel());

    @AfterEach void close() {
        commands.closeServices();
        k.close();
    }

    private JsonNode json(String line) throws Exception {
        String out = commands.execute(line);
        assertThat(out).as("one document, one line").endsWith("}\n").hasLineCount(1);
        return JSON.readTree(out);
    }

    private void udp(int dport, int count) {
        for (int i = 0; i < count; i++) {
            k.injectIp(Pkt.udp(40000, dport, "x".getBytes(StandardCharsets.US_ASCII)).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        }
        k.runPending();
    }

    @Test void interfaceCountersAndStatisticsMoveWithTraffic() throws Exception {
        String ifName = k.ifp().name();
        JsonNode before = json("netstat -i -j");
        udp(9, 5); // no socket on 9: each is counted, answered with a port unreachable
        JsonNode after = json("netstat -j -i");
        JsonNode b = find(before.get("interfaces"), "name", ifName), a = find(after.get("interfaces"), "name", ifName);
        assertThat(a.get("ipackets").asLong() - b.get("ipackets").asLong()).isEqualTo(5);
        assertThat(a.get("ipackets").asLong()).isEqualTo(k.ifp().counters().get(IfCounters.IPACKETS));
        assertThat(a.get("ibytes").asLong()).isGreaterThan(b.get("ibytes").asLong());
        assertThat(a.get("opackets").asLong() - b.get("opackets").asLong()).as("5 port unreachables").isEqualTo(5);
        assertThat(a.fieldNames()).toIterable().containsExactly("name", "mtu", "ipackets", "ibytes", "ierrors", "idrops",
                "opackets", "obytes", "oerrors", "odrops");

        JsonNode stats = json("netstat -s -j").get("statistics");
        assertThat(stats.get("udp").get("udp_no_port").asLong()).isEqualTo(5);
        assertThat(stats.get("udp").get("udp_delivered").asLong()).as("zeros are listed too").isZero();
        JsonNode udpOnly = json("netstat -s -p udp -j").get("statistics");
        assertThat(udpOnly.fieldNames()).toIterable().containsExactly("udp");
        assertThatThrownBy(() -> commands.execute("netstat -s -p nope -j")).hasMessageContaining("no protocol 'nope'");
    }

    @Test void interfacesRoutesArpAndSysctl() throws Exception {
        commands.execute("route add 172.16.0.0/12 " + org.kextnet.kernel.wire.Ipv4.format(k.peerIp()));
        commands.execute("arp -s 10.9.9.9 02:00:00:00:09:09 " + k.ifp().name());
        JsonNode ifs = json("ifconfig -j").get("interfaces");
        JsonNode ifp = find(ifs, "name", k.ifp().name());
        assertThat(ifp.get("mtu").asInt()).isEqualTo(k.ifp().mtu());
        assertThat(ifp.get("flags")).extracting(JsonNode::asText).contains("UP");
        assertThat(ifp.get("addresses").get(0).get("address").asText()).isEqualTo(org.kextnet.kernel.wire.Ipv4.format(k.ip()));
        assertThat(json("ifconfig " + k.ifp().name() + " -j").get("interfaces")).hasSize(1);

        JsonNode routes = json("route show -j").get("routes");
        JsonNode r = find(routes, "destination", "172.16.0.0");
        assertThat(r.get("prefix_length").asInt()).isEqualTo(12);
        assertThat(r.get("gateway").asText()).isEqualTo(org.kextnet.kernel.wire.Ipv4.format(k.peerIp()));
        assertThat(json("netstat -r -j")).isEqualTo(json("route -j"));

        JsonNode arp = find(json("arp -a -j").get("arp"), "address", "10.9.9.9");
        assertThat(arp.get("lladdr").asText()).isEqualTo("02:00:00:00:09:09");
        assertThat(arp.get("state").asText()).isEqualTo("static");

        JsonNode sysctl = json("sysctl kern.nke.ipfilter.hard_ms -j");
        assertThat(sysctl.get("name").asText()).isEqualTo("kern.nke.ipfilter.hard_ms");
        assertThat(sysctl.get("value").asLong()).isEqualTo(1000);
    }

    @Test void nkeListsEachRegistrationWithItsCounters() throws Exception {
        ExtensionHandle ext = k.kpi("com.example.judge");
        int[] seen = {0};
        ext.ipFilters().addV4("judge", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                return seen[0]++ % 2 == 0 ? 0 : Errno.EPERM; // every other packet dropped
            }
        });
        udp(9, 6);
        JsonNode nke = json("nke -j");
        assertThat(json("netstat -k -j")).isEqualTo(nke);
        JsonNode e = find(nke.get("extensions"), "name", "com.example.judge");
        assertThat(e.get("health").asText()).isEmpty();
        assertThat(e.get("faults").asLong()).isZero();
        JsonNode reg = e.get("registrations").get(0);
        assertThat(reg.get("kind").asText()).isEqualTo("ipfilter");
        assertThat(reg.get("name").asText()).isEqualTo("judge");
        assertThat(reg.get("state").asText()).isEqualTo("active");
        assertThat(reg.get("calls").asLong()).isEqualTo(6);
        assertThat(reg.get("passed").asLong()).isEqualTo(3);
        assertThat(reg.get("dropped").asLong()).isEqualTo(3);
        assertThat(reg.get("swallowed").asLong()).isZero();
        assertThat(reg.fieldNames()).toIterable().contains("over_budget", "time_ns");
        JsonNode chain = find(nke.get("chains"), "hook", "ip filters (ipv4)");
        assertThat(chain.get("entries").get(0).asText()).contains("ipfilter judge", "[com.example.judge]");
    }

    @Test void socketsAndTcpListings() throws Exception {
        commands.execute("service udp-echo 7");
        commands.execute("service tcp-echo 7");
        JsonNode socks = json("netstat -a -j").get("sockets");
        assertThat(socks).anySatisfy(s -> {
            assertThat(s.get("proto").asText()).isEqualTo("tcp4");
            assertThat(s.get("local_port").asInt()).isEqualTo(7);
            assertThat(s.get("state").asText()).isEqualTo("LISTEN");
        });
        assertThat(socks).anySatisfy(s -> {
            assertThat(s.get("proto").asText()).isEqualTo("udp4");
            assertThat(s.get("local_port").asInt()).isEqualTo(7);
            assertThat(s.get("state").isNull()).isTrue();
        });
        assertThat(json("netstat -t -j").get("connections")).isEmpty();
    }

    @Test void onlyListingsTakeJsonAndARefusalChangesNothing() {
        String before = commands.execute("ifconfig") + commands.execute("route show");
        for (String line : new String[] {"ifconfig " + k.ifp().name() + " down -j", "route add default 10.0.0.9 -j",
                "sysctl net.inet.ip.forwarding=1 -j", "service udp-echo 7 -j"}) {
            assertThatThrownBy(() -> commands.execute(line)).as(line).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("is not a listing");
        }
        assertThat(commands.execute("ifconfig") + commands.execute("route show")).isEqualTo(before);
        assertThat(KernelCommands.isMutating("ifconfig -j")).isFalse();
        assertThat(KernelCommands.isMutating("ifconfig -j " + k.ifp().name())).isFalse();
        assertThat(KernelCommands.isMutating("netstat -i -j")).isFalse();
        assertThat(KernelCommands.isMutating("ifconfig em0 down -j")).isTrue();
    }

    @Test void theWriterEscapesAndRefusesMisuse() throws Exception {
        String doc = new Json().object().field("s", "a\"b\\c\n\u0001é").field("n", -3).field("d", 1.5).field("nan", Double.NaN)
                .field("t", true).key("a").array().value("x").object().end().array().end().end().end().toString();
        JsonNode n = JSON.readTree(doc);
        assertThat(n.get("s").asText()).isEqualTo("a\"b\\c\n\u0001é");
        assertThat(n.get("n").asLong()).isEqualTo(-3);
        assertThat(n.get("d").asDouble()).isEqualTo(1.5);
        assertThat(n.get("nan").isNull()).isTrue();
        assertThat(n.get("a")).hasSize(3);
        assertThatThrownBy(() -> new Json().object().value(1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new Json().array().key("k")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new Json().object().toString()).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new Json().object().key("k").end()).isInstanceOf(IllegalStateException.class);
    }

    private static JsonNode find(JsonNode array, String field, String value) {
        for (JsonNode n : array) if (n.get(field).asText().equals(value)) return n;
        throw new AssertionError("no element with " + field + " " + value + " in " + array);
    }
}
