package org.kextnet.it;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;

/**
 * A kernel with one TUN or TAP interface whose Linux side, 10.124.1.1/24, lives in a namespace the test made
 * (its name carries the helper tag "tsv"); the stack is 10.124.1.2. Everything it made goes with the test's
 * {@link Teardown}. Linux's commands run through {@code bash -c} in {@link #ns}, each with a bounded wait.
 *
 * <p>A {@linkplain #routed routed} rig puts Linux's end one hop further: its programs run in a second namespace,
 * 10.124.2.1/24, joined by a veth pair to the first, which forwards between the veth and the device. Loss is then
 * made in the router's forward chain ({@link #linuxLoss}), where Linux's TCP cannot see it: a packet nftables drops
 * in the sender's own output path is reported to TCP as a local drop and sent again, never lost on the wire. The
 * sender's veth sends one segment per packet ({@code gso_max_segs 1}), so a drop loses one segment, not a burst.
 */
final class TcpRig {
    static final String PEER = "10.124.1.1", LOCAL = "10.124.1.2", HOST = "10.124.2.1";
    static final int PEER_IP = Ipv4.parse(PEER), LOCAL_IP = Ipv4.parse(LOCAL);

    /** Where Linux's programs run. */
    final NetNs ns;
    /** The namespace that holds the device: {@link #ns}, or the router of a routed rig. */
    final NetNs router;
    /** Linux's address as the stack reaches it. */
    final String linux;
    final int linuxIp;
    final Kernel kernel;
    final Interface ifp;
    final KernelCommands commands;

    private TcpRig(Teardown teardown, TunDevice.Kind kind, String name, boolean routed) {
        this(teardown, kind, name, routed, "tsv");
    }

    /** {@code options}: more of the device type's options ({@code offload off}). */
    private TcpRig(Teardown teardown, TunDevice.Kind kind, String name, boolean routed, String tag, String... options) {
        router = teardown.add(NetNs.create(tag));
        // Standard pools: an impairment holds a bandwidth-delay product of frames.
        kernel = teardown.add(new Kernel(name, Buffers.standard()));
        String ifName = kind == TunDevice.Kind.TUN ? "tun0" : "tap0";
        String[] o = new String[options.length + 2];
        o[0] = "dev";
        o[1] = router.device(tag);
        System.arraycopy(options, 0, o, 2, options.length);
        ifp = Stack.attach(kernel, router, ifName, kind, PEER + "/24", LOCAL + "/24", o);
        commands = new KernelCommands(kernel);
        teardown.add(commands::closeServices);
        if (!routed) {
            ns = router;
            linux = PEER;
        } else {
            ns = teardown.add(NetNs.create("tsvh"));
            String r = router.device("tsr"), h = ns.device("tsh");
            NetNs.mustRun(NetNs.SHORT, "ip", "link", "add", r, "netns", router.name(), "type", "veth", "peer", "name", h, "netns", ns.name());
            router.ip("addr", "add", "10.124.2.254/24", "dev", r);
            router.ip("link", "set", r, "up");
            router.mustExec(NetNs.SHORT, "sysctl", "-qw", "net.ipv4.ip_forward=1");
            ns.ip("addr", "add", HOST + "/24", "dev", h);
            ns.ip("link", "set", h, "gso_max_segs", "1", "up");
            ns.ip("route", "add", "default", "via", "10.124.2.254");
            command("route add 10.124.2.0/24 " + PEER);
            linux = HOST;
        }
        linuxIp = Ipv4.parse(linux);
    }

    static TcpRig tun(Teardown teardown) { return new TcpRig(teardown, TunDevice.Kind.TUN, "it-tsv-tun", false); }

    /** Linux's TCP right on a TUN device with offloads {@code on} or {@code off}; names tagged {@code kxo}. */
    static TcpRig tunWithOffload(Teardown teardown, String offload) {
        return new TcpRig(teardown, TunDevice.Kind.TUN, "it-kxo-tun", false, "kxo", "offload", offload);
    }

    static TcpRig tap(Teardown teardown) { return new TcpRig(teardown, TunDevice.Kind.TAP, "it-tsv-tap", false); }

    /** Linux one hop behind a router namespace, over TUN. */
    static TcpRig routed(Teardown teardown) { return new TcpRig(teardown, TunDevice.Kind.TUN, "it-tsv-routed", true); }

    /** Runs an admin command on the kernel ({@code service tcp-discard}, {@code netstat -s}...). */
    String command(String line) { return commands.execute(line); }

    /** Runs {@code script} with {@code bash -c} in the namespace. */
    NetNs.Result sh(Duration timeout, String script) { return ns.exec(timeout, "bash", "-c", script); }

    /** {@link #sh} on a thread of its own: for Linux's listeners, which run while the stack connects. */
    CompletableFuture<NetNs.Result> shAsync(Duration timeout, String script) {
        CompletableFuture<NetNs.Result> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                f.complete(sh(timeout, script));
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    /** Runs a python program (the Debian python, which has scapy) in the namespace. */
    NetNs.Result python(Duration timeout, String program, String... args) {
        String[] cmd = new String[args.length + 3];
        cmd[0] = Requirements.PYTHON;
        cmd[1] = "-c";
        cmd[2] = program;
        System.arraycopy(args, 0, cmd, 3, args.length);
        return ns.exec(timeout, cmd);
    }

    /**
     * Makes Linux's router drop {@code percent} % of the packets it forwards between the stack and Linux's end, at
     * random, in both directions, with nftables (this kernel has no netem). Only on a routed rig.
     */
    void linuxLoss(int percent) {
        if (router == ns) throw new IllegalStateException("loss is made on a routed rig's router");
        String rules = """
                table inet tsv {
                  chain forward_loss { type filter hook forward priority 0; policy accept; numgen random mod 100 < %d counter drop; }
                }
                """.formatted(percent);
        NetNs.Result r = router.execInput(NetNs.SHORT, rules.getBytes(StandardCharsets.US_ASCII), "nft", "-f", "-");
        if (!r.ok()) throw new AssertionError("nft: " + r);
    }

    /** How many packets the loss rule dropped so far, both ways. */
    long linuxDropped() {
        String out = router.mustExec(NetNs.SHORT, "nft", "list", "table", "inet", "tsv");
        long n = 0;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("counter packets (\\d+)").matcher(out);
        while (m.find()) n += Long.parseLong(m.group(1));
        return n;
    }

    /**
     * Connects a stack socket to Linux's {@code port}, retrying while Linux's listener is not up yet (refused), for
     * up to 15 s.
     */
    TcpSocket connectToLinux(int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            TcpSocket so = kernel.tcp().open();
            so.setTimeout(30, TimeUnit.SECONDS);
            try {
                so.connect(linuxIp, port);
                return so;
            } catch (SocketError e) {
                so.close();
                if (e.errno() != Errno.ECONNREFUSED || System.nanoTime() > deadline) throw e;
                Thread.sleep(50);
            }
        }
    }
}
