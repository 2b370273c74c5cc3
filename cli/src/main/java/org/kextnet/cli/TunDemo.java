package org.kextnet.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.ConfigException;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.config.KernelConfig;
import org.kextnet.kernel.stat.Stat;

/**
 * {@code kextnet run --tun}: the main job's walk-through on a Linux TUN device, with Linux as the other host. It
 * makes a network namespace of its own, gives the kernel a TUN device whose Linux side is in that namespace
 * (Linux 10.77.0.1, the kernel 10.77.0.2), and lets Linux's ping and nc send the traffic that the embedded default's
 * peer kernel sends: pings, a UDP echo, a fragmented ping, then the kern_loader part and the samples. The in-process
 * peer kernel, the tunnel sample's other end, has a TUN device of its own in the namespace (Linux 10.78.0.1, the
 * peer 10.78.0.2), and Linux forwards between the two. The namespace is deleted at the end, after a failure, and on
 * Ctrl-C; the TUN devices go with the kernels. Needs root.
 */
final class TunDemo {
    /** Linux and the kernel on the kernel's TUN device; Linux and the peer kernel on the peer kernel's. */
    static final String LINUX = "10.77.0.1", KERNEL = "10.77.0.2", KERNEL_NET = "10.77.0.0/24";
    static final String LINUX_TO_PEER = "10.78.0.1", PEER_KERNEL = "10.78.0.2", PEER_NET = "10.78.0.0/24";

    private final PrintStream out;
    private final String netns, dev;
    private final boolean loader;

    /** @param netns the namespace to create (it must not exist), or null for kextnet-run-PID */
    TunDemo(PrintStream out, String netns, boolean loader) {
        long pid = ProcessHandle.current().pid();
        this.out = out;
        this.netns = netns != null ? netns : "kextnet-run-" + pid;
        this.dev = "kxrun" + pid % 100000; // the Linux device's name, unique per process (at most 15 characters)
        this.loader = loader;
    }

    int run() throws Exception {
        if (!isRoot()) {
            System.err.println("kextnet run --tun: needs root (a network namespace and /dev/net/tun)");
            return 2;
        }
        DemoPeer.Exec made = DemoPeer.Exec.run(null, 15, "ip", "netns", "add", netns);
        if (!made.ok()) {
            System.err.print("kextnet run --tun: ip netns add " + netns + ": " + made.output());
            return 2;
        }
        Thread cleanup = new Thread(this::deleteNamespace, "kextnet-run-cleanup"); // on Ctrl-C
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            return walk();
        } finally {
            deleteNamespace();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException ignored) {
                // already shutting down: the hook runs, and finds the namespace gone
            }
        }
    }

    private int walk() throws Exception {
        // No IPv6 in the namespace: Linux would send router solicitations into the TUN, and the walk-through counts
        // packets. Forwarding on: Linux routes the tunnel's outer packets between the two kernels' TUN devices.
        DemoPeer.Exec r = DemoPeer.Exec.run(null, 15, "ip", "netns", "exec", netns, "sysctl", "-qw",
                "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1", "net.ipv4.ip_forward=1");
        if (!r.ok()) out.print("kextnet: sysctl in " + netns + ": " + r.output());
        DemoPeer.Exec.run(null, 15, "ip", "-n", netns, "link", "set", "lo", "up");
        try (Kernel kernel = new Kernel("kextnet"); Kernel peerKernel = new Kernel("peer")) {
            KernelCommands commands = new KernelCommands(kernel);
            try {
                KernelConfig.apply(commands, "--tun kernel", List.of(
                        "ifconfig tun0 create tun netns " + netns + " peer " + LINUX + "/24 dev " + dev,
                        "ifconfig tun0 inet " + KERNEL + "/24 up",
                        "route add " + PEER_NET + " " + LINUX,
                        "service udp-echo 7"));
                KernelConfig.apply(new KernelCommands(peerKernel), "--tun peer kernel", List.of(
                        "ifconfig tun0 create tun netns " + netns + " peer " + LINUX_TO_PEER + "/24 dev " + dev + "p",
                        "ifconfig tun0 inet " + PEER_KERNEL + "/24 up",
                        "route add " + KERNEL_NET + " " + LINUX_TO_PEER));
            } catch (ConfigException e) {
                commands.closeServices();
                System.err.println("kextnet run --tun: " + e.getMessage());
                return 2;
            }
            out.println("kextnet: --tun: kernel " + KERNEL + " on tun0 (Linux device " + dev + ") <--> Linux " + LINUX
                    + " in network namespace " + netns + " <--> peer kernel " + PEER_KERNEL + " (Linux device " + dev + "p)");
            out.print(commands.execute("ifconfig tun0"));
            DemoPeer.LinuxPeer linux = new DemoPeer.LinuxPeer(netns, LINUX);

            LoaderDemo.section(out, "Linux pings the kernel", "Linux's own ping, through the TUN device.");
            String ping = linuxRun("ping", "-n", "-c", "3", "-W", "2", KERNEL);
            boolean ok = ping.contains("3 packets transmitted, 3 received");

            LoaderDemo.section(out, "UDP echo", "Linux's nc sends a datagram to the kernel's UDP echo service (port 7).");
            byte[] msg = "hello kextnet from Linux".getBytes(StandardCharsets.US_ASCII);
            out.println("$ echo '" + new String(msg, StandardCharsets.US_ASCII) + "' | ip netns exec " + netns + " nc -u -w 1 " + KERNEL + " 7");
            byte[] echoed = linux.udpExchange(KERNEL, 7, msg);
            out.println(echoed == null ? "no reply" : new String(echoed, StandardCharsets.US_ASCII));
            ok &= echoed != null && new String(echoed, StandardCharsets.US_ASCII).equals(new String(msg, StandardCharsets.US_ASCII));

            LoaderDemo.section(out, "fragmentation", "A 4000-byte ping: fragmented by Linux, reassembled by the kernel, and the answer the other way.");
            long reassembled = kernel.stats().get(Stat.IP_REASSEMBLED);
            String big = linuxRun("ping", "-n", "-c", "1", "-W", "2", "-s", "3972", KERNEL);
            ok &= big.contains("1 packets transmitted, 1 received") && kernel.stats().get(Stat.IP_REASSEMBLED) > reassembled;
            out.println("kextnet: " + kernel.stats().get(Stat.IP_REASSEMBLED) + " packets reassembled ok");

            out.println();
            out.println("netstat -i (kextnet):");
            out.print(commands.execute("netstat -i"));
            if (loader) ok &= new LoaderDemo(out).run(new DemoHosts(kernel, commands, KERNEL, "tun0", linux, peerKernel,
                    KERNEL, PEER_KERNEL, "through Linux, which forwards them between the two TUN devices"));
            commands.closeServices();
            out.println(ok ? "kextnet: --tun run OK" : "kextnet: --tun run FAILED");
            return ok ? 0 : 1;
        }
    }

    /** Runs a command in the namespace, printing it and its output. */
    private String linuxRun(String... cmd) throws Exception {
        out.println("$ ip netns exec " + netns + " " + String.join(" ", cmd));
        String[] full = new String[cmd.length + 4];
        System.arraycopy(new String[] {"ip", "netns", "exec", netns}, 0, full, 0, 4);
        System.arraycopy(cmd, 0, full, 4, cmd.length);
        String text = DemoPeer.Exec.run(null, 30, full).output();
        out.print(text.endsWith("\n") || text.isEmpty() ? text : text + "\n");
        return text;
    }

    private void deleteNamespace() {
        try {
            DemoPeer.Exec.run(null, 15, "ip", "netns", "del", netns);
        } catch (Exception e) {
            System.err.println("kextnet: could not delete network namespace " + netns + ": " + e.getMessage());
        }
    }

    private static boolean isRoot() {
        try {
            return Files.getAttribute(Path.of("/proc/self"), "unix:uid").equals(0);
        } catch (Exception e) {
            return false;
        }
    }
}
