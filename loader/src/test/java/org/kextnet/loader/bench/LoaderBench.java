package org.kextnet.loader.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.HdrHistogram.Histogram;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.TestJarsAccess;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.Request;
import org.kextnet.loader.rpc.RpcServer;

/**
 * kern_loader benchmarks (docs/benchmarks.md, "kern_loader"): cold demand load to first reply and the warm
 * message round trip, both through the Unix socket with the example echo server. Run by
 * scripts/bench-kern_loader.sh; args: [coldIterations] [warmMessages].
 */
public final class LoaderBench {
    public static void main(String[] args) throws Exception {
        int cold = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        int warm = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
        Path dir = Files.createTempDirectory("kl-bench-");
        Path script = TestJarsAccess.echo(dir);
        try (KernLoader loader = new KernLoader();
             RpcServer server = new RpcServer(loader, AdminCommands.NONE, new PeerPolicy(null), dir.resolve("s.sock"), "rw-------", null)) {
            loader.add(script);
            try (KernLoaderClient c = KernLoaderClient.connect(dir.resolve("s.sock"))) {
                long port = c.lookup("echo");
                byte[] body = "0123456789abcdef".getBytes();

                // The very first load in this JVM: class loading and JIT of the loader itself included.
                long t0 = System.nanoTime();
                c.send(port, 1, body);
                long first = System.nanoTime() - t0;
                c.unload("echo");

                Histogram coldH = new Histogram(3_600_000_000L, 3);
                for (int i = 0; i < cold; i++) {
                    t0 = System.nanoTime();
                    Request.Reply r = c.send(port, i, body); // Allocated -> demand load -> reply
                    coldH.recordValue((System.nanoTime() - t0) / 1000);
                    if (r.code() != 0 || r.id() != i) throw new IllegalStateException("bad reply " + r);
                    c.unload("echo");
                }
                c.send(port, 0, body); // loaded from here on
                for (int i = 0; i < 20_000; i++) c.send(port, i, body); // warm-up
                Histogram warmH = new Histogram(3_600_000_000L, 3);
                for (int i = 0; i < warm; i++) {
                    t0 = System.nanoTime();
                    c.send(port, i, body);
                    warmH.recordValue(System.nanoTime() - t0);
                }
                System.out.printf("cold demand load to first reply (%d loads, each a fresh class loader, link, INIT): p50 %.2f ms, p99 %.2f ms, max %.2f ms; first load in a fresh JVM %.1f ms%n",
                        cold, coldH.getValueAtPercentile(50) / 1e3, coldH.getValueAtPercentile(99) / 1e3, coldH.getMaxValue() / 1e3, first / 1e6);
                System.out.printf("warm round trip over the Unix socket (%d messages of 16 bytes, one client, sequential): p50 %.1f us, p90 %.1f us, p99 %.1f us%n",
                        warm, warmH.getValueAtPercentile(50) / 1e3, warmH.getValueAtPercentile(90) / 1e3, warmH.getValueAtPercentile(99) / 1e3);
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
