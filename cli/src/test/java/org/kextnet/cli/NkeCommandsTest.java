package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

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

    @Test void controlErrorsExitWithTheKernelsErrno() throws Exception {
        Run none = run("ctl", "send", "nope", "x");
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).isEqualTo("ctl send: ENOENT: connect to control nope\n");
        loader.add(script);
        Run quiet = run("ctl", "recv", "--timeout", "50", "ipcount");
        assertThat(quiet.code()).as("nothing queued").isEqualTo(60);
        assertThat(quiet.err()).isEqualTo("ctl: no message from ipcount within 50 ms\n");
        Run badOpt = run("ctl", "getopt", "ipcount", "9");
        assertThat(badOpt.code()).isEqualTo(42);
        assertThat(badOpt.err()).isEqualTo("ctl getopt: ENOPROTOOPT: getopt 9 on ipcount failed\n");
    }
}
