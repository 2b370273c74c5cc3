package org.kextnet.bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.kextnet.bench.InMemoryForwardingBenchmark.Router;
import org.kextnet.examples.firewall.Firewall;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.stat.Stat;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The firewall sample's cost per forwarded packet: {@link InMemoryForwardingBenchmark}'s path (64-byte UDP frames
 * in batches of 64, em0 to em1, one thread), with the firewall loaded as kern_loader would load it and a rule set of
 * 0, 10 or 1,000 rules sent through its kernel control; {@code none} is the same path without the firewall, the
 * same-run reference.
 *
 * <p>No rule matches the forwarded packets (UDP 10.0.0.2:5000 to 10.1.0.2:9), so every packet is checked against
 * every rule and passes by the default: the most a rule set of that size costs. The rules are a mix, each failing
 * at a different field: the protocol, the source prefix, the destination port, the receiving interface.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Dkextnet.unchecked=true", "-XX:MaxInlineLevel=30", "-XX:CompileCommand=quiet",
        "-XX:CompileCommand=inline,org.kextnet.kernel.inet.IpFilters::walk*"})
public class FirewallBenchmark {
    @State(Scope.Thread)
    public static class Path {
        /** {@code none}: no firewall; otherwise the number of rules in its set. */
        @Param({"none", "0", "10", "1000"})
        public String rules;

        final Router router = new Router();

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            router.setUp();
            if (rules.equals("none")) return;
            int n = Integer.parseInt(rules);
            Firewall fw = new Firewall();
            if (fw.start(router.kernel.nke().open(Firewall.NAME)) != 0) throw new IllegalStateException("firewall did not start");
            try (ControlSocket ctl = router.kernel.controls().connect(Firewall.NAME, 0, true)) {
                ctl.send(ByteBuffer.wrap(("load\n" + ruleSet(n)).getBytes(StandardCharsets.UTF_8)), 0);
                ByteBuffer reply = ByteBuffer.allocate(256);
                ctl.receive(reply, 5, TimeUnit.SECONDS);
                String r = new String(reply.array(), 0, reply.position(), StandardCharsets.UTF_8);
                if (!r.equals("loaded rule set 1: " + n + (n == 1 ? " rule" : " rules") + ", default allow")) throw new IllegalStateException(r);
            }
        }

        @TearDown(Level.Trial)
        public void check() {
            if (router.kernel.stats().get(Stat.IP_FILTERED) != 0) throw new IllegalStateException("the firewall blocked forwarded packets");
            router.check();
        }
    }

    /** {@code n} rules that the benchmark's packets never match, each failing at another field. */
    static String ruleSet(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(switch (i % 4) {
                case 0 -> "block out proto tcp to 10.1.0.0/24 port " + (i % 60000 + 1);
                case 1 -> "block out proto udp from 192.168." + (i / 256 % 256) + "." + (i % 256) + " to any";
                case 2 -> "block out proto udp to 10.1.0.2 port " + (10000 + i % 50000);
                default -> "block out on em" + (2 + i % 1000) + " proto udp all";
            }).append('\n');
        }
        return b.toString();
    }

    @Benchmark
    @OperationsPerInvocation(InMemoryForwardingBenchmark.BATCH)
    public int forward(Path p) {
        Router r = p.router;
        r.fill();
        r.em0.input(r.ctx, r.batch, InMemoryForwardingBenchmark.BATCH);
        return r.drainEgress();
    }
}
