package org.kextnet.loader.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.loader.KernLoader;
import org.kextnet.loader.TestJarsAccess;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.RpcServer;

/**
 * kern_loader benchmark (docs/benchmarks.md, "The RPC round trip"): N clients, each on its own connection and sending
 * 16-byte messages to the example echo server one after the other, for a number of milliseconds; prints the messages
 * answered per second. Args: clients millis. Run by scripts/bench-rpc-latency.sh.
 */
public final class ConcurrentClientsBench {
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        long millis = Long.parseLong(args[1]);
        Path dir = Files.createTempDirectory("kl-mbench-");
        Path script = TestJarsAccess.echo(dir);
        try (KernLoader loader = new KernLoader();
             RpcServer server = new RpcServer(loader, AdminCommands.NONE, new PeerPolicy(null), dir.resolve("s.sock"), "rw-------", null)) {
            loader.add(script);
            AtomicLong total = new AtomicLong();
            List<Thread> ts = new ArrayList<>();
            byte[] body = "0123456789abcdef".getBytes();
            long[] ports = new long[1];
            try (KernLoaderClient c0 = KernLoaderClient.connect(dir.resolve("s.sock"))) {
                ports[0] = c0.lookup("echo");
                for (int i = 0; i < 20_000; i++) c0.send(ports[0], i, body);
            }
            long end = System.nanoTime() + millis * 1_000_000;
            for (int k = 0; k < n; k++) {
                ts.add(Thread.ofPlatform().start(() -> {
                    try (KernLoaderClient c = KernLoaderClient.connect(dir.resolve("s.sock"))) {
                        long count = 0;
                        while (System.nanoTime() < end) { c.send(ports[0], 1, body); count++; }
                        total.addAndGet(count);
                    } catch (Exception e) { throw new RuntimeException(e); }
                }));
            }
            for (Thread t : ts) t.join();
            System.out.printf("clients %d: %.0f messages/s%n", n, total.get() * 1000.0 / millis);
        }
    }
}
