package org.kextnet.kernel.config;

import java.util.List;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.inet.Route;
import org.kextnet.kernel.inet.tcp.TcpEndpoint;
import org.kextnet.kernel.inet.tcp.TcpInfo;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.neighbor.ArpCache;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.IfFlags;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.nke.Nke;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Registration;

/**
 * The admin listings as JSON ({@code -j}): the same state as the text listings of {@link KernelCommands}, one document
 * per command, with the field names docs/configuration.md ("JSON") lists. Counters are always all there, zeros
 * included, so that a reader finds every field it knows.
 */
final class JsonListings {
    private final Kernel kernel;

    JsonListings(Kernel kernel) {
        this.kernel = kernel;
    }

    /** {@code ifconfig} (every interface, or the one named): {@code {"interfaces":[...]}}. */
    String interfaces(Interface only) {
        Json j = new Json().object().key("interfaces").array();
        for (Interface ifp : only != null ? List.of(only) : kernel.interfaces()) {
            j.object().field("name", ifp.name()).field("index", ifp.index()).field("mtu", ifp.mtu())
                    .field("family", ifp.family().name().toLowerCase()).key("flags").array();
            String f = IfFlags.format(ifp.flags());
            for (String flag : f.substring(1, f.length() - 1).split(",")) if (!flag.isEmpty()) j.value(flag);
            j.end().field("lladdr", ifp.lladdr() == 0 ? null : Ethernet.format(ifp.lladdr())).key("addresses").array();
            for (InterfaceAddress a : ifp.addresses()) {
                j.object().field("address", Ipv4.format(a.address())).field("prefix_length", a.prefixLength())
                        .field("netmask", Ipv4.format(a.mask())).field("broadcast", Ipv4.format(a.broadcast())).end();
            }
            j.end().field("driver", ifp.driver().describe()).end();
        }
        return j.end().end().toString();
    }

    /** {@code route show}, {@code netstat -r}: {@code {"routes":[...]}}; a connected route's gateway is null. */
    String routes() {
        Json j = new Json().object().key("routes").array();
        for (Route r : kernel.routes().routes()) {
            j.object().field("destination", Ipv4.format(r.destination())).field("prefix_length", r.prefixLength())
                    .field("gateway", r.gateway() == 0 ? null : Ipv4.format(r.gateway())).field("interface", r.ifp().name())
                    .field("connected", r.connected()).end();
        }
        return j.end().end().toString();
    }

    /** {@code arp -a}: {@code {"arp":[...]}}; an incomplete entry's lladdr is null. */
    String arp() {
        Json j = new Json().object().key("arp").array();
        for (Interface ifp : kernel.interfaces()) {
            ArpCache arp = kernel.arp(ifp);
            if (arp == null) continue;
            for (ArpCache.Entry e : arp.entries()) {
                j.object().field("address", Ipv4.format(e.ip()))
                        .field("lladdr", e.state().equals("incomplete") ? null : Ethernet.format(e.mac()))
                        .field("interface", ifp.name()).field("state", e.state()).end();
            }
        }
        return j.end().end().toString();
    }

    /** {@code netstat -i}: {@code {"interfaces":[...]}} with the interface counters. */
    String interfaceCounters() {
        Json j = new Json().object().key("interfaces").array();
        for (Interface ifp : kernel.interfaces()) {
            IfCounters c = ifp.counters();
            j.object().field("name", ifp.name()).field("mtu", ifp.mtu())
                    .field("ipackets", c.get(IfCounters.IPACKETS)).field("ibytes", c.get(IfCounters.IBYTES))
                    .field("ierrors", c.get(IfCounters.IERRORS)).field("idrops", c.get(IfCounters.IDROPS))
                    .field("opackets", c.get(IfCounters.OPACKETS)).field("obytes", c.get(IfCounters.OBYTES))
                    .field("oerrors", c.get(IfCounters.OERRORS)).field("odrops", c.get(IfCounters.ODROPS)).end();
        }
        return j.end().end().toString();
    }

    /**
     * {@code netstat -s [-p PROTOCOL]}: {@code {"statistics":{"ip":{"ip_filtered":0,...},...}}}, every counter of every
     * protocol (or of the one named) by its name in lower case.
     * @throws IllegalArgumentException if no counter belongs to {@code protocol}
     */
    String statistics(String protocol) {
        Json j = new Json().object().key("statistics").object();
        String open = null;
        for (Stat s : Stat.all()) {
            if (protocol != null && !s.protocol().equals(protocol)) continue;
            if (!s.protocol().equals(open)) {
                if (open != null) j.end();
                open = s.protocol();
                j.key(open).object();
            }
            j.field(s.name().toLowerCase(), kernel.stats().get(s));
        }
        if (open == null) throw new IllegalArgumentException("netstat -s -p: no protocol '" + protocol + "'");
        return j.end().end().end().toString();
    }

    /** {@code netstat -a}: {@code {"sockets":[...]}}, TCP listeners and connections, then UDP sockets. */
    String sockets() {
        Json j = new Json().object().key("sockets").array();
        for (TcpEndpoint l : kernel.tcp().stack().listeners()) {
            socket(j, "tcp4", 0, 0, l, null, "LISTEN");
        }
        for (TcpInfo c : KernelCommands.sortedConnections(kernel)) {
            socket(j, "tcp4", c.receiveQueue(), c.sendQueue(), c.local(), c.remote(), c.state().toString());
        }
        for (UdpSocket so : kernel.udp().sockets()) {
            j.object().field("proto", "udp4").field("recv_q", so.available()).field("send_q", 0)
                    .field("local_address", so.localAddress() == 0 ? "*" : Ipv4.format(so.localAddress())).field("local_port", so.localPort())
                    .field("foreign_address", so.remotePort() == 0 ? "*" : Ipv4.format(so.remoteAddress()))
                    .field("foreign_port", so.remotePort()).field("state", (String) null).end();
        }
        return j.end().end().toString();
    }

    private static void socket(Json j, String proto, long rq, long sq, TcpEndpoint local, TcpEndpoint remote, String state) {
        j.object().field("proto", proto).field("recv_q", rq).field("send_q", sq);
        endpoint(j, "local", local);
        endpoint(j, "foreign", remote);
        j.field("state", state).end();
    }

    private static void endpoint(Json j, String which, TcpEndpoint e) {
        j.field(which + "_address", e == null || e.isWildcard() ? "*" : TcpEndpoint.formatAddress(e.high(), e.low()))
                .field(which + "_port", e == null ? 0 : e.port());
    }

    /** {@code netstat -t}: {@code {"connections":[...]}}, each TCP connection with its congestion state. */
    String tcp() {
        Json j = new Json().object().key("connections").array();
        for (TcpInfo c : KernelCommands.sortedConnections(kernel)) {
            j.object().field("proto", "tcp4").field("recv_q", c.receiveQueue()).field("send_q", c.sendQueue());
            endpoint(j, "local", c.local());
            endpoint(j, "foreign", c.remote());
            j.field("state", c.state().toString()).field("srtt_ns", c.srtt()).field("rttvar_ns", c.rttvar()).field("rto_ns", c.rto())
                    .field("cwnd", c.cwnd()).key("ssthresh");
            if (c.ssthresh() >= Integer.MAX_VALUE) j.value((String) null); else j.value(c.ssthresh());
            j.field("bytes_in_flight", c.bytesInFlight()).field("retransmits", c.retransmits())
                    .field("bytes_sent", c.bytesSent()).field("bytes_received", c.bytesReceived()).field("mss", c.mss())
                    .field("congestion_control", c.congestionControl()).end();
        }
        return j.end().end().toString();
    }

    /**
     * {@code nke}, {@code netstat -k}: {@code {"extensions":[...],"chains":[...]}}: every extension with its health,
     * faults and registrations, each with its counters; then each hook point's chain in order.
     */
    String nke() {
        Nke nke = kernel.nke();
        Json j = new Json().object().key("extensions").array();
        for (ExtensionHandle h : nke.extensions()) {
            j.object().field("name", h.name()).field("health", h.health().label()).field("faults", h.faultCount())
                    .field("stuck_in", h.stuckIn()).key("registrations").array();
            for (Registration r : h.registrations()) {
                Registration.Counters c = r.counters();
                j.object().field("kind", r.kind()).field("name", r.name()).field("state", r.state().name().toLowerCase())
                        .field("calls", c.calls()).field("passed", c.passed()).field("swallowed", c.swallowed())
                        .field("dropped", c.dropped()).field("faults", c.faults()).field("over_budget", c.overBudget())
                        .field("time_ns", c.nanos()).end();
            }
            j.end().end();
        }
        j.end().key("chains").array();
        for (var chain : nke.chains().entrySet()) {
            j.object().field("hook", chain.getKey()).key("entries").array();
            for (String e : chain.getValue()) j.value(e);
            j.end().end();
        }
        return j.end().end().toString();
    }

    /** {@code sysctl NAME}: {@code {"name":NAME,"value":N}}, or a string value ({@code net.inet.tcp.cc.algorithm}). */
    static String sysctl(String output) {
        int colon = output.indexOf(':');
        String value = output.substring(colon + 1).strip();
        Json j = new Json().object().field("name", output.substring(0, colon));
        if (value.matches("-?[0-9]+")) j.field("value", Long.parseLong(value));
        else j.field("value", value);
        return j.end().toString();
    }
}
