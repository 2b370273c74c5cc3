package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.KpiException;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.ServerState;
import org.kextnet.loader.StatusFormat;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.server.NkeBridge;

/**
 * The samples' part of the main job, after tcplog: each sample (examples/: firewall, enetlog, capture, tunnel) added
 * through kern_loader as an operator adds it and driven through its kernel control as {@code kextnet ctl} drives it,
 * on traffic from the walk-through's other host: a firewall rule blocks the peer's ping and then another allows it,
 * with the rules' counters; enetlog logs the frames of a ping; capture writes a pcapng file that is read back here;
 * pings cross a tunnel between this kernel and the in-process peer kernel; then every sample's counters as
 * {@code kl_util -k} and the kernel's {@code netstat -k} show them, and the samples unloaded with nothing left.
 * Each step checks what it shows; {@link #run} says whether all did what they should.
 */
final class SamplesDemo {
    /** The tunnel's inner addresses: a /30 of its own, so that its pings can only cross the tunnel. */
    static final String TUNNEL_HERE = "10.9.0.1", TUNNEL_THERE = "10.9.0.2";
    private static final List<String> SAMPLES = List.of("firewall", "enetlog", "capture", "tunnel");

    private final PrintStream out;
    private final KernLoaderClient c;
    private final DemoHosts hosts;
    private final Kernel kernel, peerKernel;
    private final DemoPeer peer;
    private final String here, iface;
    private final Path dir;

    /** @param dir a private directory for the capture file */
    SamplesDemo(PrintStream out, KernLoaderClient c, DemoHosts hosts, Path dir) {
        this.out = out;
        this.c = c;
        this.hosts = hosts;
        this.kernel = hosts.kernel();
        this.here = hosts.here();
        this.iface = hosts.iface();
        this.peer = hosts.peer();
        this.peerKernel = hosts.peerKernel();
        this.dir = dir;
    }

    boolean run() throws Exception {
        boolean ok = true;
        for (String s : SAMPLES) {
            if (LoaderDemo.exampleScript(s, s + ".jar", s + ".kern_server") == null) {
                out.println("samples: " + s + " is not built (examples/" + s + "): FAILED");
                return false;
            }
        }
        ok &= firewall();
        ok &= enetlog();
        ok &= capture();
        ok &= tunnel();
        ok &= counters();
        ok &= unload();
        return ok;
    }

    private boolean firewall() throws Exception {
        LoaderDemo.section(out, "firewall: an IP filter whose rule set is replaced whole",
                "A rule blocks a ping from " + peer.name() + " (" + peer.address() + ") and counts it; a new set allows it. (examples/firewall)");
        boolean ok = add("firewall");
        String block = "block in proto icmp from " + peer.address() + "\n";
        String allow = "allow in proto icmp from " + peer.address() + "\n";
        out.println("$ kextnet firewall load block.conf      # " + block.strip());
        String r = ask("firewall", "load\n" + block);
        out.print(r);
        ok &= r.startsWith("loaded rule set ");
        long rtt = peer.ping(here, 1, 1);
        out.println(peer.name() + " -> " + here + ": ping " + (rtt < 0 ? "lost (blocked)" : "answered (NOT blocked)"));
        out.println("$ kextnet firewall show");
        String shown = ask("firewall", "show");
        out.print(shown);
        ok &= rtt < 0 && Pattern.compile("^" + Pattern.quote(block.strip()) + " +# 1 packets, 84 bytes$", Pattern.MULTILINE).matcher(shown).find();

        out.println("$ kextnet firewall load allow.conf      # " + allow.strip());
        r = ask("firewall", "load\n" + allow);
        out.print(r);
        rtt = peer.ping(here, 2, 2);
        out.println(peer.name() + " -> " + here + ": ping " + (rtt < 0 ? "lost (NOT allowed)" : String.format("answered in %.3f ms", rtt / 1e6)));
        out.println("$ kextnet firewall show");
        shown = ask("firewall", "show");
        out.print(shown);
        ok &= rtt >= 0 && Pattern.compile("^" + Pattern.quote(allow.strip()) + " +# 1 packets, 84 bytes$", Pattern.MULTILINE).matcher(shown).find();
        return ok;
    }

    private boolean enetlog() throws Exception {
        LoaderDemo.section(out, "enetlog: an interface filter that logs frames",
                "Attached to " + iface + ", it logs each frame of a ping in and out. (examples/enetlog, after Apple's enetlognke)");
        boolean ok = add("enetlog");
        out.println("$ kextnet ctl send enetlog attach " + iface);
        String r = ask("enetlog", "attach " + iface);
        out.print(r);
        ok &= r.startsWith("attached to " + iface);
        ok &= peer.ping(here, 3, 2) >= 0 & peer.ping(here, 4, 2) >= 0;
        out.println(peer.name() + " -> " + here + ": 2 pings");
        out.println("$ kextnet ctl send enetlog show 4");
        // Lines are made from the records by a callout every 20 ms: wait (bounded) for the four frames'.
        String lines = "";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        do {
            lines = ask("enetlog", "show 4");
            if (count(lines, "ICMP echo request") == 2 && count(lines, "ICMP echo reply") == 2) break;
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        out.print(lines);
        return ok && count(lines, iface + " in ") == 2 && count(lines, iface + " out ") == 2
                && count(lines, "ICMP echo request") == 2 && count(lines, "ICMP echo reply") == 2;
    }

    private boolean capture() throws Exception {
        LoaderDemo.section(out, "capture: packet capture inside the stack, to pcapng",
                "A file session on " + iface + " keeps the ICMP frames of 3 pings; the file is read back here (tshark and Wireshark read it too).");
        boolean ok = add("capture");
        Path file = dir.resolve("demo.pcapng");
        out.println("$ kextnet ctl send capture start " + iface + " file " + file + " filter icmp");
        String r = ask("capture", "start " + iface + " file " + file + " filter icmp");
        out.print(r);
        Matcher m = Pattern.compile("^session (\\d+) on ").matcher(r);
        if (!m.find()) return false;
        int replies = 0;
        for (int seq = 5; seq <= 7; seq++) if (peer.ping(here, seq, 2) >= 0) replies++;
        out.println(peer.name() + " -> " + here + ": 3 pings, " + replies + " answered");
        out.println("$ kextnet ctl send capture stop " + m.group(1) + "      (the reply comes once the file is closed)");
        r = ask("capture", "stop " + m.group(1));
        out.print(r);
        ok &= replies == 3 && r.contains(": 6 captured, 0 dropped, 6 written in 1 file: ");
        List<PcapngSummary.Packet> packets;
        try {
            packets = PcapngSummary.read(file);
        } catch (IOException e) {
            out.println("reading " + file + ": " + e.getMessage() + ": FAILED");
            return false;
        }
        out.println("read back " + file.getFileName() + ": " + packets.size() + " packets");
        int requests = 0, answers = 0;
        for (int i = 0; i < packets.size(); i++) {
            PcapngSummary.Packet p = packets.get(i);
            out.printf("  %d  %4d bytes  %s%n", i + 1, p.original(), p.summary());
            if (p.summary().equals(peer.address() + " > " + here + " ICMP echo request")) requests++;
            if (p.summary().equals(here + " > " + peer.address() + " ICMP echo reply")) answers++;
        }
        return ok && packets.size() == 6 && requests == 3 && answers == 3;
    }

    private boolean tunnel() throws Exception {
        String local = hosts.kernelAddress(), remote = hosts.peerKernelAddress();
        LoaderDemo.section(out, "tunnel: an interface made by an extension (IPv4 in UDP)",
                "This kernel (" + local + ") and the in-process peer kernel (" + remote + ") each load the sample and make ktun0"
                        + " (its outer packets go " + hosts.tunnelPath() + "); pings cross the tunnel both ways.");
        boolean ok = add("tunnel");
        Path script = LoaderDemo.exampleScript("tunnel", "tunnel.jar", "tunnel.kern_server");
        out.println("$ kextnet ctl send tunnel create ktun0 local " + local + " remote " + remote);
        String r = ask("tunnel", "create ktun0 local " + local + " remote " + remote);
        out.print(r);
        ok &= r.startsWith("ktun0 local " + local + ":5555 remote " + remote + ":5555");
        out.println("$ kextnet admin ifconfig ktun0 inet " + TUNNEL_HERE + "/30");
        c.admin("ifconfig ktun0 inet " + TUNNEL_HERE + "/30");
        // The other end: the peer kernel's own kern_loader, in this process, as TunnelSampleTest does it.
        NkeBridge bridge = new NkeBridge(peerKernel);
        try (KernLoader peerLoader = new KernLoader(LoaderOptions.defaults().withKernel(bridge, bridge))) {
            out.println("peer$ kl_util -a tunnel.kern_server; ctl send tunnel create ktun0 local " + remote + " remote " + local + "; ifconfig ktun0 inet " + TUNNEL_THERE + "/30");
            ok &= peerLoader.add(script).state() == ServerState.LOADED;
            try (ControlSocket so = peerKernel.controls().connect("tunnel", 0, true)) {
                so.send(ByteBuffer.wrap(("create ktun0 local " + remote + " remote " + local).getBytes(StandardCharsets.UTF_8)), 0);
                ByteBuffer b = ByteBuffer.allocate(512);
                ok &= so.receive(b, 5, TimeUnit.SECONDS) > 0;
            }
            new KernelCommands(peerKernel).execute("ifconfig ktun0 inet " + TUNNEL_THERE + "/30");

            int there = 0, back = 0;
            try (Pinger p = kernel.pinger()) {
                for (int seq = 1; seq <= 3; seq++) if (p.ping(Ipv4.parse(TUNNEL_THERE), seq, 56, 2, TimeUnit.SECONDS) >= 0) there++;
            }
            try (Pinger p = peerKernel.pinger()) {
                if (p.ping(Ipv4.parse(TUNNEL_HERE), 1, 56, 2, TimeUnit.SECONDS) >= 0) back++;
            }
            out.println("kextnet -> " + TUNNEL_THERE + " through ktun0: 3 pings, " + there + " answered; peer -> " + TUNNEL_HERE + ": 1 ping, " + back + " answered");
            out.println("$ kextnet ctl send tunnel list");
            String list = ask("tunnel", "list");
            out.print(list);
            ok &= there == 3 && back == 1 && list.contains(": out 4 packets 336 bytes, in 4 packets 336 bytes, dropped 0, loops 0");
            peerLoader.unload("tunnel");
            ok &= peerKernel.findInterface("ktun0") == null;
        }
        return ok;
    }

    private boolean counters() throws Exception {
        LoaderDemo.section(out, "counters: what each sample's registrations did",
                "kl_util -k lists each loaded server's registrations; the kernel's netstat -k counts every registration's calls,"
                        + " packets passed, swallowed and dropped, faults and time.");
        out.println("$ kl_util -k");
        out.print(StatusFormat.kextstat(c.list()));
        boolean ok = true;
        for (String s : SAMPLES) ok &= c.info(s).state() == ServerState.LOADED && !c.info(s).registrations().isEmpty();
        out.println("$ kextnet admin netstat -k      (the samples' lines of its counters section; the rest lists every hook point's chain)");
        List<String> counters = new ArrayList<>();
        boolean in = false;
        for (String l : c.admin("netstat -k").lines().toList()) {
            if (!l.startsWith(" ")) in = l.equals("counters:");
            else if (in && SAMPLES.stream().anyMatch(s -> l.startsWith("  " + s + ": "))) counters.add(l);
        }
        counters.forEach(out::println);
        for (String s : SAMPLES) ok &= counters.stream().anyMatch(l -> l.startsWith("  " + s + ": "));
        // The blocked ping: dropped by the firewall's IP filter, and so counted by the kernel.
        ok &= counters.stream().anyMatch(l -> l.startsWith("  firewall: ipfilter ") && l.contains(" 1 dropped;"));
        return ok;
    }

    private boolean unload() throws Exception {
        LoaderDemo.section(out, "unload: stop(Kpi) removes every registration", "After the unloads the kernel holds nothing of the samples.");
        for (String s : SAMPLES) {
            out.println("$ kl_util -u " + s);
            c.unload(s);
        }
        c.ping();
        out.println("$ kl_util -k");
        out.print(StatusFormat.kextstat(c.list()));
        String nke = c.admin("nke");
        boolean ok = kernel.findInterface("ktun0") == null;
        for (String s : SAMPLES) ok &= c.info(s).state() == ServerState.ALLOCATED && c.info(s).registrations().isEmpty() && !nke.contains(s);
        out.println("$ kextnet admin nke | grep -cE '" + String.join("|", SAMPLES) + "'");
        out.println(nke.lines().filter(l -> SAMPLES.stream().anyMatch(l::contains)).count());
        return ok;
    }

    /** {@code kl_util -a} the sample's script (START: loaded at once). */
    private boolean add(String sample) throws Exception {
        Path script = LoaderDemo.exampleScript(sample, sample + ".jar", sample + ".kern_server");
        out.println("$ kl_util -a " + script);
        c.add(script);
        c.ping();
        return c.info(sample).state() == ServerState.LOADED;
    }

    /** One command to a sample's kernel control through kern_loader, as {@code kextnet ctl send} sends it; its reply. */
    private String ask(String control, String command) throws IOException, LoaderException, KpiException {
        try (KernLoaderClient.RemoteControl ctl = c.connectControl(control, 0)) {
            ctl.send(ByteBuffer.wrap(command.getBytes(StandardCharsets.UTF_8)), 0);
            ByteBuffer b = ByteBuffer.allocate(1 << 16);
            int n = ctl.receive(b, 5, TimeUnit.SECONDS);
            String reply = n > 0 ? new String(b.array(), 0, n, StandardCharsets.UTF_8) : "(no reply)";
            return reply.endsWith("\n") ? reply : reply + "\n";
        }
    }

    private static long count(String text, String what) {
        return text.lines().filter(l -> l.contains(what)).count();
    }
}
