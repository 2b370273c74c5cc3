package org.kextnet.kernel.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.hook.CallLimits;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.inet.Route;
import org.kextnet.kernel.inet.tcp.CongestionControl;
import org.kextnet.kernel.inet.tcp.TcpEndpoint;
import org.kextnet.kernel.inet.tcp.TcpInfo;
import org.kextnet.kernel.inet.tcp.TcpService;
import org.kextnet.kernel.inet.udp.UdpEchoService;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.neighbor.ArpCache;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.IfFlags;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kernel.wire.Ipv4;

/**
 * The administration commands of a running kernel, in ifconfig/route/arp/sysctl/netstat form: one line in,
 * text out. The configuration file is a list of them, and the admin RPC runs them at run time. The syntax is
 * documented in docs/configuration.md.
 *
 * <p>A command either fully applies or throws {@link IllegalArgumentException} with the problem and leaves
 * the kernel as it was.
 */
public final class KernelCommands {
    private final Kernel kernel;
    private final List<AutoCloseable> services = new ArrayList<>();

    public KernelCommands(Kernel kernel) {
        this.kernel = kernel;
    }

    /** Whether a line changes the kernel (as opposed to only showing state). */
    public static boolean isMutating(String line) {
        String[] w = withoutJson(words(line));
        if (w.length == 0) return false;
        return switch (w[0]) {
            case "netstat", "nke" -> false;
            case "ifconfig" -> w.length > 2;
            case "arp" -> w.length > 1 && !w[1].equals("-a");
            case "route" -> w.length > 1 && !w[1].equals("show");
            case "sysctl" -> w.length > 1 && w[1].contains("=");
            default -> true;
        };
    }

    /**
     * Runs one command line and returns its output (empty for commands that only change state).
     * @throws IllegalArgumentException naming the problem; the kernel is unchanged
     */
    public String execute(String line) {
        String[] w = words(line);
        if (w.length == 0) return "";
        String[] plain = withoutJson(w);
        if (plain.length != w.length) return json(plain);
        return switch (w[0]) {
            case "ifconfig" -> ifconfig(w);
            case "route" -> route(w);
            case "arp" -> arp(w);
            case "sysctl" -> sysctl(w);
            case "service" -> service(w);
            case "netstat" -> netstat(w);
            case "nke" -> kernel.nke().describe();
            default -> throw new IllegalArgumentException("unknown command '" + w[0] + "' (expected ifconfig, route, arp, sysctl, service, netstat or nke)");
        };
    }

    /** The words without {@code -j}, which asks any listing for JSON ({@link #json}). */
    private static String[] withoutJson(String[] w) {
        return Arrays.stream(w).filter(x -> !x.equals("-j")).toArray(String[]::new);
    }

    /**
     * A listing as one JSON document ({@code -j} anywhere in the line): ifconfig, route show, arp -a, sysctl NAME,
     * netstat -i/-s/-r/-a/-t/-k, nke. The field names are documented in docs/configuration.md ("JSON").
     * @throws IllegalArgumentException for a line that is not a listing (nothing is changed)
     */
    private String json(String[] w) {
        JsonListings j = new JsonListings(kernel);
        String what = String.join(" ", w);
        if (w.length == 0) throw new IllegalArgumentException("-j: no command");
        return switch (w[0]) {
            case "ifconfig" -> {
                if (w.length > 2) throw notAListing(what);
                Interface ifp = w.length == 2 ? kernel.findInterface(w[1]) : null;
                if (w.length == 2 && ifp == null) throw new IllegalArgumentException("no interface " + w[1]);
                yield j.interfaces(ifp);
            }
            case "route" -> {
                if (w.length > 2 || w.length == 2 && !w[1].equals("show")) throw notAListing(what);
                yield j.routes();
            }
            case "arp" -> {
                if (w.length > 2 || w.length == 2 && !w[1].equals("-a")) throw notAListing(what);
                yield j.arp();
            }
            case "sysctl" -> {
                if (w.length != 2 || w[1].contains("=")) throw notAListing(what);
                yield JsonListings.sysctl(sysctl(w));
            }
            case "nke" -> j.nke();
            case "netstat" -> switch (w.length > 1 ? w[1] : "-i") {
                case "-i" -> j.interfaceCounters();
                case "-s" -> {
                    if (w.length != 2 && (w.length != 4 || !w[2].equals("-p"))) throw new IllegalArgumentException("usage: netstat -s [-p PROTOCOL]");
                    yield j.statistics(w.length == 4 ? w[3] : null);
                }
                case "-r" -> j.routes();
                case "-a", "-an" -> j.sockets();
                case "-t" -> j.tcp();
                case "-k" -> j.nke();
                default -> throw new IllegalArgumentException("netstat: unknown option '" + w[1] + "' (-i, -s, -r, -a, -t, -k)");
            };
            default -> throw notAListing(what);
        };
    }

    private static IllegalArgumentException notAListing(String line) {
        return new IllegalArgumentException("-j: '" + line + "' is not a listing (ifconfig [IF], route show, arp -a, sysctl NAME, netstat -i/-s/-r/-a/-t/-k, nke)");
    }

    static String[] words(String line) {
        int hash = line.indexOf('#');
        if (hash >= 0) line = line.substring(0, hash);
        line = line.strip();
        return line.isEmpty() ? new String[0] : line.split("\\s+");
    }

    // ---- ifconfig ----

    private String ifconfig(String[] w) {
        if (w.length == 1) return formatInterfaces();
        String name = w[1];
        if (w.length >= 3 && w[2].equals("create")) {
            if (w.length < 4) throw new IllegalArgumentException("ifconfig " + name + " create: missing interface type (" + InterfaceTypes.names() + ")");
            InterfaceFactory f = InterfaceTypes.find(w[3]);
            if (f == null) throw new IllegalArgumentException("unknown interface type '" + w[3] + "' (known: " + InterfaceTypes.names() + ")");
            if (kernel.findInterface(name) != null) throw new IllegalArgumentException("interface " + name + " exists");
            if ((w.length - 4) % 2 != 0) throw new IllegalArgumentException("ifconfig " + name + " create " + w[3] + ": options come in 'key value' pairs");
            Map<String, String> opts = new LinkedHashMap<>();
            for (int i = 4; i < w.length; i += 2) opts.put(w[i], w[i + 1]);
            f.create(kernel, name, opts);
            return "";
        }
        if (w.length == 3 && w[2].equals("destroy")) {
            kernel.destroyInterface(name);
            return "";
        }
        Interface ifp = kernel.findInterface(name);
        if (ifp == null) throw new IllegalArgumentException("no interface " + name);
        if (w.length == 2) return formatInterface(ifp);
        // Parse everything first so that a bad word changes nothing.
        InterfaceAddress addr = null;
        Integer delete = null;
        Integer mtu = null;
        Boolean up = null;
        for (int i = 2; i < w.length; i++) {
            switch (w[i]) {
                case "inet" -> addr = InterfaceAddress.parse(arg(w, ++i, "inet"));
                case "-inet", "delete" -> delete = Ipv4.parse(arg(w, ++i, w[i - 1]).replaceAll("/.*", ""));
                case "mtu" -> {
                    int v = parseInt(arg(w, ++i, "mtu"), "mtu");
                    if (v < 68 || v > 65535) throw new IllegalArgumentException("mtu " + v + " out of range 68..65535");
                    mtu = v;
                }
                case "up" -> up = true;
                case "down" -> up = false;
                default -> throw new IllegalArgumentException("ifconfig: unknown word '" + w[i] + "'");
            }
        }
        if (addr != null && ifp.hasAddress(addr.address())) throw new IllegalArgumentException(name + ": address " + addr + " already assigned");
        if (delete != null && !ifp.hasAddress(delete)) throw new IllegalArgumentException(name + ": no address " + Ipv4.format(delete));
        if (mtu != null) ifp.setMtu(mtu);
        if (delete != null) kernel.removeAddress(ifp, delete);
        if (addr != null) kernel.addAddress(ifp, addr);
        if (up != null) { if (up) ifp.up(); else ifp.down(); }
        return "";
    }

    private String formatInterfaces() {
        StringBuilder b = new StringBuilder();
        for (Interface ifp : kernel.interfaces()) b.append(formatInterface(ifp));
        return b.toString();
    }

    private static String formatInterface(Interface ifp) {
        StringBuilder b = new StringBuilder();
        b.append(ifp.name()).append(": flags=").append(Integer.toHexString(ifp.flags())).append(IfFlags.format(ifp.flags()))
                .append(" mtu ").append(ifp.mtu()).append(" index ").append(ifp.index()).append('\n');
        if (ifp.lladdr() != 0) b.append("\tether ").append(Ethernet.format(ifp.lladdr())).append('\n');
        for (InterfaceAddress a : ifp.addresses()) {
            b.append("\tinet ").append(Ipv4.format(a.address())).append(" netmask 0x").append(String.format("%08x", a.mask()));
            if (a.prefixLength() < 31 && ifp.family() == IfFamily.ETHERNET) b.append(" broadcast ").append(Ipv4.format(a.broadcast()));
            b.append('\n');
        }
        b.append("\tdriver ").append(ifp.driver().describe()).append('\n');
        return b.toString();
    }

    // ---- route ----

    private String route(String[] w) {
        if (w.length == 1 || w[1].equals("show")) return formatRoutes();
        switch (w[1]) {
            case "add" -> {
                if (w.length < 4) throw new IllegalArgumentException("usage: route add default|NET/PREFIX GATEWAY | route add NET/PREFIX -interface IF");
                InterfaceAddress dst = w[2].equals("default") ? new InterfaceAddress(0, 0) : InterfaceAddress.parse(w[2]);
                Route r;
                if (w[3].equals("-interface")) {
                    Interface ifp = kernel.findInterface(arg(w, 4, "-interface"));
                    if (ifp == null) throw new IllegalArgumentException("no interface " + w[4]);
                    r = new Route(dst.address(), dst.prefixLength(), 0, ifp, false);
                } else {
                    int gw = Ipv4.parse(w[3]);
                    Route via = kernel.routes().lookup(gw);
                    if (via == null || via.gateway() != 0) throw new IllegalArgumentException("gateway " + w[3] + " is not on a connected network");
                    r = new Route(dst.address(), dst.prefixLength(), gw, via.ifp(), false);
                }
                kernel.routes().add(r);
                return "";
            }
            case "delete" -> {
                InterfaceAddress dst = w.length > 2 && w[2].equals("default") ? new InterfaceAddress(0, 0) : InterfaceAddress.parse(arg(w, 2, "delete"));
                if (!kernel.routes().remove(dst.address(), dst.prefixLength())) throw new IllegalArgumentException("no route to " + w[2]);
                return "";
            }
            default -> throw new IllegalArgumentException("route: unknown subcommand '" + w[1] + "' (add, delete, show)");
        }
    }

    private String formatRoutes() {
        StringBuilder b = new StringBuilder(String.format("%-20s %-16s %-8s%n", "Destination", "Gateway", "Netif"));
        for (Route r : kernel.routes().routes()) {
            String d = r.prefixLength() == 0 ? "default" : Ipv4.format(r.destination()) + "/" + r.prefixLength();
            String g = r.gateway() == 0 ? "link#" + r.ifp().index() : Ipv4.format(r.gateway());
            b.append(String.format("%-20s %-16s %-8s%n", d, g, r.ifp().name()));
        }
        return b.toString();
    }

    // ---- arp ----

    private String arp(String[] w) {
        if (w.length == 1 || w[1].equals("-a")) {
            StringBuilder b = new StringBuilder();
            for (Interface ifp : kernel.interfaces()) {
                ArpCache arp = kernel.arp(ifp);
                if (arp == null) continue;
                for (ArpCache.Entry e : arp.entries()) {
                    b.append('(').append(Ipv4.format(e.ip())).append(") at ")
                            .append(e.state().equals("incomplete") ? "(incomplete)" : Ethernet.format(e.mac()))
                            .append(" on ").append(ifp.name()).append(e.state().equals("static") ? " permanent" : "").append('\n');
                }
            }
            return b.toString();
        }
        if (w[1].equals("-s")) {
            if (w.length != 5) throw new IllegalArgumentException("usage: arp -s ADDRESS MAC INTERFACE");
            int ip = Ipv4.parse(w[2]);
            long mac = Ethernet.parse(w[3]);
            Interface ifp = kernel.findInterface(w[4]);
            ArpCache arp = ifp == null ? null : kernel.arp(ifp);
            if (arp == null) throw new IllegalArgumentException("no Ethernet interface " + w[4]);
            arp.addStatic(ip, mac);
            return "";
        }
        if (w[1].equals("-d")) {
            int ip = Ipv4.parse(arg(w, 2, "-d"));
            for (Interface ifp : kernel.interfaces()) {
                ArpCache arp = kernel.arp(ifp);
                if (arp != null && arp.delete(ip)) return "";
            }
            throw new IllegalArgumentException("no ARP entry for " + w[2]);
        }
        throw new IllegalArgumentException("arp: unknown option '" + w[1] + "' (-a, -s, -d)");
    }

    // ---- sysctl ----

    private static final String SYSCTLS = "net.inet.ip.forwarding, net.inet.tcp.cc.algorithm, net.inet.tcp.cc.available, "
            + "kern.nke.HEAD.soft_ms, kern.nke.HEAD.hard_ms";

    private String sysctl(String[] w) {
        if (w.length != 2) throw new IllegalArgumentException("usage: sysctl NAME[=VALUE] (" + SYSCTLS + ")");
        String[] kv = w[1].split("=", 2);
        if (kv[0].startsWith("kern.nke.")) return callLimit(kv);
        if (kv[0].startsWith("net.inet.tcp.cc.")) return congestionControl(kv);
        if (!kv[0].equals("net.inet.ip.forwarding")) {
            throw new IllegalArgumentException("unknown sysctl '" + kv[0] + "' (known: " + SYSCTLS + ")");
        }
        if (kv.length == 1) return kv[0] + ": " + (kernel.forwarding() ? 1 : 0) + "\n";
        switch (kv[1]) {
            case "0", "off" -> kernel.setForwarding(false);
            case "1", "on" -> kernel.setForwarding(true);
            default -> throw new IllegalArgumentException("net.inet.ip.forwarding takes 0 or 1, not '" + kv[1] + "'");
        }
        return "";
    }

    /**
     * FreeBSD's names: {@code net.inet.tcp.cc.algorithm}, the congestion control of connections made from now on
     * that do not choose their own ({@code TCP_CONGESTION}), and {@code net.inet.tcp.cc.available}, the names it
     * takes (read-only). An unknown name is refused and the setting stays as it was.
     */
    private String congestionControl(String[] kv) {
        var known = new java.util.TreeSet<>(CongestionControl.KNOWN.keySet());
        switch (kv[0]) {
            case "net.inet.tcp.cc.available" -> {
                if (kv.length > 1) throw new IllegalArgumentException("net.inet.tcp.cc.available is read-only");
                return kv[0] + ": " + String.join(" ", known) + "\n";
            }
            case "net.inet.tcp.cc.algorithm" -> {
                var config = kernel.tcp().stack().config();
                if (kv.length == 1) return kv[0] + ": " + config.congestionControl + "\n";
                if (!known.contains(kv[1])) {
                    throw new IllegalArgumentException("unknown congestion control '" + kv[1] + "' (available: " + String.join(", ", known) + ")");
                }
                config.congestionControl = kv[1];
                return "";
            }
            default -> throw new IllegalArgumentException("unknown sysctl '" + kv[0] + "' (net.inet.tcp.cc.algorithm or net.inet.tcp.cc.available)");
        }
    }

    /**
     * {@code kern.nke.HEAD.soft_ms} and {@code kern.nke.HEAD.hard_ms}: how long a call into an extension through
     * HEAD (ipfilter, iff, sflt, proto, protosw, ifnet, kctl, callout, kev) may take before it is counted and logged
     * (soft) or abandoned and the extension quarantined (hard). A value the limits refuse leaves them unchanged.
     */
    private String callLimit(String[] kv) {
        String[] p = kv[0].split("\\.");
        Head head = p.length == 4 ? Head.byKey(p[2]) : null;
        if (head == null || !(p[3].equals("soft_ms") || p[3].equals("hard_ms"))) {
            throw new IllegalArgumentException("unknown sysctl '" + kv[0] + "' (kern.nke.HEAD.soft_ms or kern.nke.HEAD.hard_ms; HEAD: "
                    + java.util.Arrays.stream(Head.values()).map(Head::key).collect(java.util.stream.Collectors.joining(", ")) + ")");
        }
        boolean soft = p[3].equals("soft_ms");
        CallLimits l = kernel.callLimits();
        if (kv.length == 1) return kv[0] + ": " + (soft ? l.soft(head) : l.hard(head)) / 1_000_000 + "\n";
        long ms = parseInt(kv[1], kv[0]);
        long nanos = ms * 1_000_000;
        kernel.setCallLimits(soft ? l.with(head, nanos, l.hard(head)) : l.with(head, l.soft(head), nanos));
        return "";
    }

    // ---- service ----

    private static final String SERVICE_USAGE = "usage: service udp-echo|tcp-echo|tcp-discard|tcp-chargen [PORT]";

    private String service(String[] w) {
        if (w.length < 2 || w.length > 3) throw new IllegalArgumentException(SERVICE_USAGE);
        TcpService.Kind tcpKind = null;
        for (TcpService.Kind k : TcpService.Kind.values()) if (k.command().equals(w[1])) tcpKind = k;
        if (tcpKind == null && !w[1].equals("udp-echo")) throw new IllegalArgumentException("unknown service '" + w[1] + "'; " + SERVICE_USAGE);
        int port = w.length > 2 ? parseInt(w[2], "port") : tcpKind != null ? tcpKind.defaultPort() : UdpEchoService.PORT;
        if (port < 1 || port > 65535) throw new IllegalArgumentException("service " + w[1] + ": port " + port + " out of range 1..65535");
        try {
            services.add(tcpKind != null ? TcpService.start(kernel.tcp(), tcpKind, port) : UdpEchoService.start(kernel.udp(), port));
        } catch (SocketError e) {
            throw new IllegalArgumentException("service " + w[1] + " " + port + ": " + e.getMessage());
        }
        return "";
    }

    // ---- netstat ----

    private String netstat(String[] w) {
        String opt = w.length > 1 ? w[1] : "-i";
        return switch (opt) {
            case "-i" -> netstatInterfaces();
            case "-s" -> netstatStatistics(w);
            case "-r" -> formatRoutes();
            case "-a", "-an" -> netstatSockets();
            case "-t" -> netstatTcp();
            case "-k" -> kernel.nke().describe(); // extensions, their registrations and every hook point
            default -> throw new IllegalArgumentException("netstat: unknown option '" + opt + "' (-i, -s, -r, -a, -t, -k)");
        };
    }

    private String netstatInterfaces() {
        StringBuilder b = new StringBuilder(String.format("%-8s %6s %10s %12s %6s %6s %10s %12s %6s %6s%n",
                "Name", "Mtu", "Ipkts", "Ibytes", "Ierrs", "Idrop", "Opkts", "Obytes", "Oerrs", "Odrop"));
        for (Interface ifp : kernel.interfaces()) {
            IfCounters c = ifp.counters();
            b.append(String.format("%-8s %6d %10d %12d %6d %6d %10d %12d %6d %6d%n", ifp.name(), ifp.mtu(),
                    c.get(IfCounters.IPACKETS), c.get(IfCounters.IBYTES), c.get(IfCounters.IERRORS), c.get(IfCounters.IDROPS),
                    c.get(IfCounters.OPACKETS), c.get(IfCounters.OBYTES), c.get(IfCounters.OERRORS), c.get(IfCounters.ODROPS)));
        }
        return b.toString();
    }

    /** {@code netstat -s [-p PROTOCOL]}: the counters that are not zero, per protocol, or for one protocol. */
    private String netstatStatistics(String[] w) {
        String all = kernel.stats().format(false);
        if (w.length == 2) return all;
        if (w.length != 4 || !w[2].equals("-p")) throw new IllegalArgumentException("usage: netstat -s [-p PROTOCOL]");
        StringBuilder b = new StringBuilder();
        boolean in = false;
        for (String line : all.split("\n")) {
            if (!line.startsWith("\t")) in = line.equals(w[3] + ":");
            if (in) b.append(line).append('\n');
        }
        return b.toString();
    }

    /** BSD's {@code netstat -an}: every TCP listener and connection, then every UDP socket. */
    private String netstatSockets() {
        StringBuilder b = new StringBuilder(String.format("%-6s %7s %7s  %-22s %-22s %s%n", "Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "(state)"));
        for (TcpEndpoint l : kernel.tcp().stack().listeners()) {
            b.append(String.format("%-6s %7d %7d  %-22s %-22s %s%n", "tcp4", 0, 0, endpoint(l), "*.*", "LISTEN"));
        }
        for (TcpInfo c : sortedConnections()) {
            b.append(String.format("%-6s %7d %7d  %-22s %-22s %s%n", "tcp4", c.receiveQueue(), c.sendQueue(), endpoint(c.local()), endpoint(c.remote()), c.state()));
        }
        for (UdpSocket so : kernel.udp().sockets()) {
            String local = (so.localAddress() == 0 ? "*" : Ipv4.format(so.localAddress())) + "." + so.localPort();
            String remote = so.remotePort() == 0 ? "*.*" : Ipv4.format(so.remoteAddress()) + "." + so.remotePort();
            b.append(String.format("%-6s %7d %7d  %-22s %-22s%n", "udp4", so.available(), 0, local, remote));
        }
        return b.toString();
    }

    /**
     * {@code netstat -t}: each TCP connection with its queues and its congestion state (as Linux's {@code ss -ti}):
     * smoothed RTT and its variation, the RTO, the congestion window and slow-start threshold (bytes), bytes in
     * flight, segments retransmitted over its life, and the congestion control.
     */
    private String netstatTcp() {
        String head = "%-6s %7s %7s  %-22s %-22s %-12s %9s %8s %6s %9s %9s %9s %6s %s%n";
        String row = "%-6s %7d %7d  %-22s %-22s %-12s %9.3f %8.3f %6d %9d %9s %9d %6d %s%n";
        StringBuilder b = new StringBuilder(String.format(head, "Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address",
                "State", "RTT(ms)", "RTTVAR", "RTO", "Cwnd", "Ssthresh", "InFlight", "Rexmt", "CC"));
        for (TcpInfo c : sortedConnections()) {
            b.append(String.format(java.util.Locale.ROOT, row, "tcp4", c.receiveQueue(), c.sendQueue(), endpoint(c.local()),
                    endpoint(c.remote()), c.state(), c.srtt() / 1e6, c.rttvar() / 1e6, c.rto() / 1_000_000, c.cwnd(),
                    c.ssthresh() == Long.MAX_VALUE || c.ssthresh() >= Integer.MAX_VALUE ? "-" : Long.toString(c.ssthresh()),
                    c.bytesInFlight(), c.retransmits(), c.congestionControl()));
        }
        return b.toString();
    }

    private List<TcpInfo> sortedConnections() { return sortedConnections(kernel); }

    /** The kernel's TCP connections by local port, then remote endpoint (the order the listings print). */
    static List<TcpInfo> sortedConnections(Kernel kernel) {
        List<TcpInfo> l = new ArrayList<>(kernel.tcp().connections());
        l.sort(java.util.Comparator.comparingInt((TcpInfo c) -> c.local().port()).thenComparing(c -> String.valueOf(c.remote())));
        return l;
    }

    /** "10.0.0.1.7" as BSD's netstat writes an address and port; "*" for the wildcard address. */
    private static String endpoint(TcpEndpoint e) {
        if (e == null) return "*.*";
        return (e.isWildcard() ? "*" : TcpEndpoint.formatAddress(e.high(), e.low())) + "." + e.port();
    }

    /** Stops the services started by {@code service} lines. */
    public void closeServices() {
        for (AutoCloseable c : services) {
            try { c.close(); } catch (Exception ignored) { /* closing sockets does not fail */ }
        }
        services.clear();
    }

    // ---- helpers ----

    static Interface createMemoryWire(Kernel k, String name, Map<String, String> opts) {
        String peer = null;
        double loss = 0, duplicate = 0, reorder = 0;
        long delayMicros = 0, seed = 1;
        for (var e : opts.entrySet()) {
            switch (e.getKey()) {
                case "peer" -> peer = e.getValue();
                case "loss" -> loss = parseNumber(e, Double::parseDouble);
                case "delay-us" -> delayMicros = parseNumber(e, Long::parseLong);
                case "duplicate" -> duplicate = parseNumber(e, Double::parseDouble);
                case "reorder" -> reorder = parseNumber(e, Double::parseDouble);
                case "seed" -> seed = parseNumber(e, Long::parseLong);
                default -> throw new IllegalArgumentException("memwire: unknown option '" + e.getKey() + "' (peer, loss, delay-us, duplicate, reorder, seed)");
            }
        }
        // Checked before anything is created, so that a refused line leaves no half of a pair behind.
        if (name.equals(peer)) throw new IllegalArgumentException("memwire " + name + ": the peer needs a name of its own");
        if (peer != null && k.findInterface(peer) != null) throw new IllegalArgumentException("interface " + peer + " exists");
        MemoryWire.Options options;
        try {
            options = MemoryWire.Options.perfect().withLoss(loss).withDelayNanos(delayMicros * 1000)
                    .withDuplication(duplicate).withReordering(reorder).withSeed(seed);
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("memwire: " + ex.getMessage());
        }
        MemoryWire wire = new MemoryWire(name, options);
        Interface a = k.createInterface(name, IfFamily.ETHERNET, wire.a(), macFor(k, name), 1500);
        if (peer != null) k.createInterface(peer, IfFamily.ETHERNET, wire.b(), macFor(k, peer), 1500);
        return a;
    }

    /** A locally administered MAC derived from kernel and interface names. */
    public static long macFor(Kernel k, String ifName) {
        long h = (k.name() + "/" + ifName).hashCode() & 0xffffffffL;
        return 0x020000000000L | h;
    }

    private static <T> T parseNumber(Map.Entry<String, String> option, java.util.function.Function<String, T> parser) {
        try {
            return parser.apply(option.getValue());
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("memwire: bad " + option.getKey() + " '" + option.getValue() + "'");
        }
    }

    static void noOptions(String type, Map<String, String> opts) {
        if (!opts.isEmpty()) throw new IllegalArgumentException(type + ": unknown option '" + opts.keySet().iterator().next() + "'");
    }

    private static String arg(String[] w, int i, String after) {
        if (i >= w.length) throw new IllegalArgumentException("missing value after '" + after + "'");
        return w[i];
    }

    private static int parseInt(String s, String what) {
        try {
            return Integer.decode(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad " + what + " '" + s + "'");
        }
    }

    /** Exposes the words of a line (for callers that classify commands). */
    public static List<String> split(String line) { return Arrays.asList(words(line)); }
}
