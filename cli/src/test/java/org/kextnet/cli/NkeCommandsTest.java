package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.ServerState;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.server.NkeBridge;

/**
 * The example NKE as the project builds it (examples/ipfilter-counter: ipfilter-counter.jar and ipcount.kern_server),
 * loaded by a kern_loader joined to its kernel and driven with the commands a person types: kl_util -a/-k/-u/-l,
 * kextnet ctl, kextnet port send and kextnet admin nke.
 */
class NkeCommandsTest extends InJvmDaemon {
    Path script;

    /** The loader joined to the kernel, as the daemon's is. */
    @Override KernLoader newLoader() {
        NkeBridge bridge = new NkeBridge(kernel);
        return new KernLoader(LoaderOptions.defaults().withTimeouts(5_000, 1_000).withKernel(bridge, bridge));
    }

    @Override KernelControls controls() { return KernelControls.of(kernel); }

    @BeforeEach void start() {
        script = LoaderDemo.nkeScript();
        assertThat(script).as("examples/ipfilter-counter is built before cli").isNotNull();
    }

    /** Pings this kernel's loopback: each ping is two ICMP packets out and two in (request and reply). */
    void pingLoopback(int n) throws Exception {
        try (Pinger p = kernel.pinger()) {
            for (int seq = 1; seq <= n; seq++) assertThat(p.ping(Ipv4.parse("127.0.0.1"), seq, 8, 2, TimeUnit.SECONDS)).isNotNegative();
        }
    }


    @Test void startLoadTrafficStatusUnloadReloadWithTheBuiltJar() throws Exception {
        Run add = run("kl_util", "-a", script.toString());
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains("ipcount: started, registrations {ipfilter=1, kctl=1}", "ipcount: loaded, wired ");
        assertThat(loader.info("ipcount").state()).isEqualTo(ServerState.LOADED);

        pingLoopback(2);
        assertThat(run("ctl", "send", "ipcount", "stats")).isEqualTo(new Run(0, "in icmp=4 udp=0 tcp=0 other=0 out icmp=4 udp=0 tcp=0 other=0\n", ""));
        assertThat(run("ctl", "getopt", "--u64", "ipcount", "1").out()).isEqualTo("4 0 0 0 4 0 0 0\n");
        assertThat(run("ctl", "list").out()).isEqualTo("""
                  Id Unit Flags Clients Owner            Name
                   1    0 0x000       0 ipcount          ipcount
                """);
        Run port = run("port", "send", "ipcount", "x");
        assertThat(port.out()).endsWith("in icmp=4 udp=0 tcp=0 other=0 out icmp=4 udp=0 tcp=0 other=0\n");
        assertThat(run("ctl", "setopt", "ipcount", "2").code()).isZero();
        assertThat(run("ctl", "getopt", "--u64", "ipcount", "1").out()).isEqualTo("0 0 0 0 0 0 0 0\n");

        assertThat(run("kl_util", "-k").out()).contains("Loaded      ipcount (0.1.0-SNAPSHOT) <> {ipfilter=1,kctl=1} 0");
        assertThat(run("admin", "nke").out()).contains("ipcount (0 faults)\n  ipfilter ipcount (active) at priority 1000\n  kctl ipcount (active) id 1, 0 clients\n")
                .contains("ip filters (ipv4):\n  0: ipfilter ipcount (active) at priority 1000 [ipcount]\n");
        assertThat(run("admin", "netstat", "-k").out()).isEqualTo(run("admin", "nke").out());

        Run unload = run("kl_util", "-u", "ipcount");
        assertThat(unload.code()).as(unload.err()).isZero();
        assertThat(unload.out()).contains("ipcount: unloaded");
        assertThat(run("kl_util", "-k").out()).contains("Allocated   ipcount (0.1.0-SNAPSHOT) <> {} 0");
        assertThat(run("admin", "nke").out()).doesNotContain("ipcount");
        assertThat(run("ctl", "list").out()).doesNotContain("ipcount");
        pingLoopback(1); // not counted by anyone, still answered

        // Connecting to the control by the name of its advertised port loads the server again.
        assertThat(run("ctl", "send", "ipcount", "stats").out()).isEqualTo("in icmp=0 udp=0 tcp=0 other=0 out icmp=0 udp=0 tcp=0 other=0\n");
        assertThat(loader.info("ipcount").state()).isEqualTo(ServerState.LOADED);
        assertThat(run("kl_util", "-u", "ipcount").code()).isZero();
        assertThat(run("kl_util", "-l", "ipcount").code()).isZero();
        pingLoopback(1);
        assertThat(run("ctl", "send", "ipcount", "stats").out()).startsWith("in icmp=2 ");
        assertThat(run("kl_util", "-d", "ipcount").code()).isZero();
        assertThat(run("admin", "nke").out()).doesNotContain("ipcount");
    }

    /** kl_util -k lists each registration's counters; -j gives the same as JSON, and so does admin -j for every listing. */
    @Test void countersInTheTableAndAsJsonMoveWithTraffic() throws Exception {
        assertThat(run("kl_util", "-a", script.toString()).code()).isZero();
        JsonNode before = JSON.readTree(run("kl_util", "-k", "-j").out());
        JsonNode ifBefore = JSON.readTree(run("admin", "-j", "netstat", "-i").out());
        pingLoopback(3);

        Run table = run("kl_util", "-k");
        assertThat(table.code()).as(table.err()).isZero();
        assertThat(table.out()).contains("Loaded      ipcount (0.1.0-SNAPSHOT) <> {ipfilter=1,kctl=1} 0\n",
                "      Kind       Name                      Calls     Passed  Swallowed    Dropped  Faults OverBudget   Time(us)\n",
                "      ipfilter   ipcount                      12         12          0          0       0          0 ");

        Run k = run("kl_util", "-k", "-j");
        assertThat(k.code()).as(k.err()).isZero();
        assertThat(k.err()).isEmpty();
        JsonNode server = JSON.readTree(k.out()).get("servers").get(0);
        assertThat(server.get("name").asText()).isEqualTo("ipcount");
        assertThat(server.get("state").asText()).isEqualTo("Loaded");
        assertThat(server.get("health").asText()).isEmpty();
        assertThat(server.get("faults").asLong()).isZero();
        assertThat(server.get("registrations").get("ipfilter").asInt()).isEqualTo(1);
        JsonNode filter = server.get("hooks").get(0), filterBefore = before.get("servers").get(0).get("hooks").get(0);
        assertThat(filter.get("kind").asText()).isEqualTo("ipfilter");
        assertThat(filter.get("calls").asLong() - filterBefore.get("calls").asLong())
                .as("3 pings on loopback: each request and reply goes out and comes in").isEqualTo(12);
        assertThat(filter.get("passed").asLong()).isEqualTo(filter.get("calls").asLong());
        assertThat(filter.get("time_ns").asLong()).isNotNegative();

        JsonNode s = JSON.readTree(run("kl_util", "-s", "-j").out());
        assertThat(s.get("servers")).hasSize(1);
        JsonNode named = JSON.readTree(run("kl_util", "-j", "-s", "ipcount").out()).get("servers").get(0);
        assertThat(named.get("relocatable").asText()).endsWith("ipfilter-counter.jar");
        assertThat(named.get("ports").get(0).get("name").asText()).isEqualTo("ipcount");

        JsonNode ifAfter = JSON.readTree(run("admin", "-j", "netstat", "-i").out());
        assertThat(lo0(ifAfter).get("ipackets").asLong() - lo0(ifBefore).get("ipackets").asLong()).isEqualTo(6);
        JsonNode nke = JSON.readTree(run("admin", "nke", "--json").out());
        JsonNode ext = nke.get("extensions").findParents("name").stream().filter(n -> n.get("name").asText().equals("ipcount")).findFirst().orElseThrow();
        assertThat(ext.get("registrations").get(0).get("calls").asLong()).isEqualTo(filter.get("calls").asLong());

        Run refused = run("admin", "-j", "ifconfig", "lo0", "down");
        assertThat(refused.code()).isEqualTo(124);
        assertThat(refused.out()).isEmpty();
        assertThat(refused.err()).as("said once, on stderr").hasLineCount(1).contains("is not a listing");
        Run notListing = run("kl_util", "-j", "-u", "ipcount");
        assertThat(notListing.code()).isEqualTo(2);
        assertThat(notListing.err()).isEqualTo("kl_util: -j goes with -s or -k\n");
        assertThat(loader.info("ipcount").state()).as("nothing done").isEqualTo(ServerState.LOADED);
    }

    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode lo0(JsonNode netstat) {
        for (JsonNode n : netstat.get("interfaces")) if (n.get("name").asText().equals("lo0")) return n;
        throw new AssertionError("no lo0 in " + netstat);
    }

    /** A kernel refusal exits 3 (ExitCodes.KERNEL_REFUSED) whatever the errno, which is named on stderr. */
    @Test void controlErrorsExitThreeNamingTheKernelsErrno() throws Exception {
        Run none = run("ctl", "send", "nope", "x");
        assertThat(none.code()).isEqualTo(ExitCodes.KERNEL_REFUSED);
        assertThat(none.err()).isEqualTo("ctl send: ENOENT: connect to control nope\n");
        loader.add(script);
        Run quiet = run("ctl", "recv", "--timeout", "50", "ipcount");
        assertThat(quiet.code()).as("nothing queued").isEqualTo(ExitCodes.KERNEL_REFUSED);
        assertThat(quiet.err()).isEqualTo("ctl: no message from ipcount within 50 ms\n");
        Run badOpt = run("ctl", "getopt", "ipcount", "9");
        assertThat(badOpt.code()).isEqualTo(ExitCodes.KERNEL_REFUSED);
        assertThat(badOpt.err()).isEqualTo("ctl getopt: ENOPROTOOPT: getopt 9 on ipcount failed\n");
    }
}
