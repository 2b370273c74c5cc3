package org.kextnet.cli;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.ConfigException;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.config.KernelConfig;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kextnet run}: the main job. With a configuration file it runs the kernel on the interfaces the file
 * creates (TUN and TAP need root). Without one it runs the embedded default: the kernel and an in-process
 * peer kernel joined by a memory wire, and shows ping, UDP echo, fragmentation and a port unreachable
 * between them, then the kernel's counters.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the kernel.",
                "With --config FILE: the kernel of that configuration (docs/configuration.md) until SIGINT or SIGTERM (or --duration),",
                "then its interface counters and statistics; --admin-socket offers kern_loader's RPC for admin commands.",
                "Without --config: the embedded default (no set-up, no root): kextnet and a peer kernel on a memory wire,",
                "with ping, UDP echo, fragmentation and port-unreachable traffic between them, then netstat;",
                "then kern_loader on that kernel with the example echo server: kl_util status, a demand load, an unload;",
                "and the example NKE (an IP filter counter): loaded with START, traffic counted, kl_util -k, unloaded;",
                "and tcplog (a socket filter on TCP): loaded, a TCP exchange with the peer recorded and shown, unloaded;",
                "then the samples: a firewall rule blocks and then allows a ping, enetlog logs frames, capture writes a pcapng file",
                "that is read back, pings cross a tunnel, and every sample's counters (kl_util -k, netstat -k).",
                "--tun (root): the same on a TUN device in a network namespace of its own, with Linux's ping and nc as the peer."})
public final class RunCommand implements Callable<Integer> {
    /** The embedded default's kernel configuration (same syntax as a --config file). */
    static final List<String> EMBEDDED_KERNEL = List.of(
            "ifconfig wire0 inet 10.99.0.1/24 up",
            "service udp-echo 7");
    static final List<String> EMBEDDED_PEER = List.of(
            "ifconfig wire0 inet 10.99.0.2/24 up");

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Kernel configuration file (docs/configuration.md).")
    Path config;

    @Option(names = "--duration", paramLabel = "SECONDS", description = "With --config: stop after this many seconds (default: run until interrupted).")
    long durationSeconds;

    @Option(names = "--no-loader", description = "Embedded default: skip the kern_loader part (echo server, example NKE, samples).")
    boolean noLoader;

    @Option(names = "--tun", description = "The walk-through on a TUN device, with Linux (in a network namespace this command makes and deletes) as the peer; needs root.")
    boolean tun;

    @Option(names = "--netns", paramLabel = "NAME", description = "With --tun: the network namespace to make (default: kextnet-run-PID); it must not exist.")
    String netns;

    @Option(names = "--admin-socket", paramLabel = "PATH",
            description = {"With --config: serve kern_loader's RPC on this Unix socket (mode rw-------), as the daemon does, so that",
                    "'kextnet admin', 'kl_util' (-s, -k, -a ...) and 'kextnet ctl' reach this kernel (--socket PATH or KEXTNET_SOCKET).",
                    "One process per socket (a lock beside it, and PATH's .pid file); 'kl_util -A' stops the run."})
    Path adminSocket;

    private final PrintStream out = System.out;

    @Override public Integer call() throws Exception {
        if (tun && config != null || netns != null && !tun) {
            System.err.println("kextnet run: " + (tun ? "--tun and --config exclude each other" : "--netns goes with --tun"));
            return 2;
        }
        if (tun) return new TunDemo(out, netns, !noLoader).run();
        return config != null ? runConfigured() : runEmbedded();
    }

    /**
     * The kernel of a configuration file, until SIGINT, SIGTERM, {@code --duration} or (with {@code --admin-socket})
     * {@code kl_util -A}; then its statistics. On a signal the JVM's shutdown hook waits for them to be printed.
     */
    private int runConfigured() throws InterruptedException {
        Kernel kernel = new Kernel("kextnet");
        KernelCommands commands = new KernelCommands(kernel);
        try {
            KernelConfig.apply(kernel, commands, config);
        } catch (ConfigException e) {
            System.err.println("kextnet: " + e.getMessage());
            commands.closeServices();
            kernel.close();
            return ExitCodes.FAILED;
        }
        CountDownLatch stop = new CountDownLatch(1), done = new CountDownLatch(1);
        AdminSocket admin = null;
        if (adminSocket != null) {
            try {
                admin = AdminSocket.open(adminSocket.toAbsolutePath(), kernel, commands, stop::countDown);
            } catch (DaemonFiles.StartFailure e) {
                System.err.println("kextnet: " + e.getMessage());
                commands.closeServices();
                kernel.close();
                return ExitCodes.FAILED;
            }
        }
        out.print(commands.execute("ifconfig"));
        out.println("kextnet: running" + (durationSeconds > 0 ? " for " + durationSeconds + " s" : " (Ctrl-C stops)")
                + (admin != null ? "; admin socket " + admin.path() : ""));
        out.flush();
        // SIGINT and SIGTERM run the hooks, and the JVM halts when they end: this one holds it until the statistics are out.
        Thread hook = new Thread(() -> {
            stop.countDown();
            try {
                done.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "kextnet-run-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            if (durationSeconds > 0) stop.await(durationSeconds, TimeUnit.SECONDS); else stop.await();
            out.print(commands.execute("netstat -i"));
            out.print(commands.execute("netstat -s"));
            out.flush();
        } finally {
            if (admin != null) admin.close();
            commands.closeServices();
            kernel.close();
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // a signal stopped it: the hook is running, and returns now
            }
        }
        return ExitCodes.OK;
    }

    private int runEmbedded() throws Exception {
        try (Kernel kernel = new Kernel("kextnet"); Kernel peer = new Kernel("peer")) {
            MemoryWire wire = new MemoryWire("wire");
            kernel.createInterface("wire0", IfFamily.ETHERNET, wire.a(), KernelCommands.macFor(kernel, "wire0"), 1500);
            peer.createInterface("wire0", IfFamily.ETHERNET, wire.b(), KernelCommands.macFor(peer, "wire0"), 1500);
            KernelCommands commands = new KernelCommands(kernel);
            KernelConfig.apply(commands, "embedded kernel", EMBEDDED_KERNEL);
            KernelConfig.apply(new KernelCommands(peer), "embedded peer", EMBEDDED_PEER);
            out.println("kextnet: embedded default: kernel 10.99.0.1 (wire0) <-- memory wire --> peer 10.99.0.2");
            out.print(commands.execute("ifconfig wire0"));

            int target = Ipv4.parse("10.99.0.1");
            boolean ok = ping(peer, target, "10.99.0.1") & ping(kernel, Ipv4.parse("127.0.0.1"), "127.0.0.1");
            ok &= udpEcho(peer, target);
            ok &= portUnreachable(peer, kernel, target);

            out.println();
            out.println("netstat -i (kextnet):");
            out.print(commands.execute("netstat -i"));
            out.println("netstat -s (kextnet):");
            out.print(commands.execute("netstat -s"));
            if (!noLoader) ok &= new LoaderDemo(out).run(new DemoHosts(kernel, commands, "10.99.0.1", "wire0",
                    new DemoPeer.KernelPeer(peer, "10.99.0.2"), peer, "10.99.0.1", "10.99.0.2", "over the memory wire"));
            commands.closeServices();
            out.println(ok ? "kextnet: embedded run OK" : "kextnet: embedded run FAILED");
            return ok ? ExitCodes.OK : ExitCodes.FAILED;
        }
    }

    private boolean ping(Kernel from, int dst, String name) throws InterruptedException {
        out.println();
        out.println("PING " + name + " from " + from.name() + ": 56 data bytes");
        int received = 0;
        try (Pinger p = from.pinger()) {
            for (int seq = 1; seq <= 3; seq++) {
                long rtt = p.ping(dst, seq, 56, 2, TimeUnit.SECONDS);
                if (rtt >= 0) {
                    received++;
                    out.printf("64 bytes from %s: icmp_seq=%d ttl=64 time=%.3f ms%n", name, seq, rtt / 1e6);
                } else {
                    out.printf("Request timeout for icmp_seq %d%n", seq);
                }
            }
        }
        out.printf("3 packets transmitted, %d packets received%n", received);
        return received == 3;
    }

    private boolean udpEcho(Kernel peer, int dst) throws Exception {
        out.println();
        out.println("UDP echo to 10.99.0.1:7 from peer:");
        boolean ok = true;
        try (UdpSocket so = peer.udp().open().bind(0, 0)) {
            for (int i = 1; i <= 3; i++) {
                byte[] msg = ("hello kextnet " + i).getBytes(StandardCharsets.US_ASCII);
                so.send(ByteBuffer.wrap(msg), dst, 7);
                ByteBuffer buf = ByteBuffer.allocate(2048);
                UdpDatagram d = so.receive(buf, 2, TimeUnit.SECONDS);
                String got = d == null ? null : new String(buf.array(), 0, d.length(), StandardCharsets.US_ASCII);
                out.println("  sent \"" + new String(msg, StandardCharsets.US_ASCII) + "\" -> " + (d == null ? "no reply" : "echoed \"" + got + "\" by " + Ipv4.format(d.sourceAddress()) + ":" + d.sourcePort()));
                ok &= d != null && Arrays.equals(msg, Arrays.copyOf(buf.array(), d.length()));
            }
            byte[] big = new byte[4000];
            for (int i = 0; i < big.length; i++) big[i] = (byte) (i * 7);
            so.send(ByteBuffer.wrap(big), dst, 7);
            ByteBuffer buf = ByteBuffer.allocate(8192);
            UdpDatagram d = so.receive(buf, 2, TimeUnit.SECONDS);
            boolean intact = d != null && d.length() == big.length && Arrays.equals(big, Arrays.copyOf(buf.array(), d.length()));
            out.println("  sent 4000 bytes (3 fragments at MTU 1500) -> " + (intact ? "echoed intact, reassembled at both ends" : "FAILED"));
            ok &= intact;
        }
        return ok;
    }

    private boolean portUnreachable(Kernel peer, Kernel kernel, int dst) throws Exception {
        out.println();
        long before = peer.stats().get(Stat.ICMP_IN_UNREACH);
        try (UdpSocket so = peer.udp().open().bind(0, 0)) {
            so.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), dst, 9);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (peer.stats().get(Stat.ICMP_IN_UNREACH) == before && System.nanoTime() < deadline) Thread.sleep(5);
        boolean ok = peer.stats().get(Stat.ICMP_IN_UNREACH) > before;
        out.println("UDP to closed port 9: " + (ok ? "ICMP port unreachable returned to peer" : "no ICMP error (FAILED)")
                + "; kextnet counted " + kernel.stats().get(Stat.UDP_NO_PORT) + " datagram(s) dropped due to no socket");
        return ok;
    }
}
