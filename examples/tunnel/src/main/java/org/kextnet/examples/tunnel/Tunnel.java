package org.kextnet.examples.tunnel;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetAddress;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.net.IfnetInit;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.protocol.ProtocolHandler;
import org.kextnet.kpi.protocol.ProtocolPlumber;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.PortMessage;

/**
 * IPv4 in UDP tunnels: each one an interface {@code ktunN} of the GIF family (xnu's family for IP tunnels) made with
 * the interface KPI ({@code ifnet_allocate}, {@code ifnet_attach}). The kernel has no IPv4 plumber for that family, so
 * the sample registers one ({@code proto_register_plumber}): it attaches PF_INET to each ktun interface with a
 * protocol handler that gives what the interface receives to the kernel's IPv4 ({@code proto_input}) and has nothing
 * to prepare on output, a tunnel having no link addresses. An operator then gives the interface an address and
 * routes as any other ({@code ifconfig ktun0 inet 10.9.0.1/30}). Packets routed into it leave inside UDP to the other
 * end; an IP filter takes the UDP datagrams that come back from it and hands their inner packets to the interface, as
 * a driver hands it what it receives. The format is Linux's foo-over-UDP for IPv4 ({@code ip fou add port N ipproto
 * 4} with an {@code ipip} device using {@code encap fou}): the UDP payload is the inner packet.
 *
 * <p>Kernel control {@value #NAME} (privileged):
 * <pre>
 * create ktunN local A.B.C.D remote A.B.C.D [port P] [remote-port Q] [mtu M]
 * destroy ktunN
 * list
 * </pre>
 */
public final class Tunnel implements KernelExtension, IpFilter, KernelControl, ProtocolPlumber, ProtocolHandler {
    /** The control's, the filter's and the advertised port's name. */
    public static final String NAME = "tunnel";
    /** The UDP port when none is given (there is no standard one for IPv4 in UDP; fou takes what it is told). */
    public static final int DEFAULT_PORT = 5555;

    private final Map<String, TunnelInterface> tunnels = new ConcurrentHashMap<>();
    /** The interfaces this extension made, from allocation on: the plumber plumbs these, no other GIF interface. */
    private final Set<Ifnet> ours = ConcurrentHashMap.newKeySet();
    /** What the filter looks at: the tunnels, replaced as a whole when one is created or destroyed. */
    private volatile TunnelInterface[] table = new TunnelInterface[0];
    private volatile Kpi kpi;
    private volatile ControlRef control;
    private int tag;

    @Override public int start(Kpi kpi) {
        this.kpi = kpi;
        tag = kpi.mbufs().tagIdFind("org.kextnet.examples.tunnel");
        try {
            kpi.ipFilters().addV4(NAME, Position.DEFAULT, this);
            kpi.protocols().registerPlumber(ProtocolFamily.PF_INET, IfnetFamily.GIF, this);
            control = kpi.controls().register(ControlParams.named(NAME).withFlags(ControlParams.FLAG_PRIVILEGED), this);
            return 0;
        } catch (KpiException e) {
            kpi.removeAll();
            return e.errno();
        }
    }

    // stop(Kpi) is the default: kpi.removeAll() detaches every ktun interface (IPv4 is unplumbed from it and its
    // routes go), removes the plumber, the filter and the control, and answers EBUSY until all of it is gone.

    Kpi kpi() { return kpi; }

    int tag() { return tag; }

    // ---- the filter: UDP datagrams from a tunnel's other end to its port are the tunnel's ----

    @Override public int input(Mbuf m, int offset, int protocol) {
        if (protocol != 17 || m.length() < offset + 8) return 0;
        int dport = m.getU16(offset + 2), src = m.getInt(12), dst = m.getInt(16);
        for (TunnelInterface t : table) {
            if (t.port == dport && t.remote == src && t.local == dst) return t.input(m, offset);
        }
        return 0;
    }

    // ---- IPv4 on the ktun interfaces: the plumber and the protocol handler ----

    /** Attaches PF_INET to a ktun interface when it attaches: IPv4 packets (version 4) are the handler's. */
    @Override public int plumb(Ifnet ifp, int protocolFamily) {
        if (!ours.contains(ifp)) return Errno.EOPNOTSUPP; // another extension's GIF interface: not ours to plumb
        try {
            kpi.protocols().attachProtocol(ifp, protocolFamily, List.of(DemuxDescriptor.ipVersion(4)), this);
            return 0;
        } catch (KpiException e) {
            return e.errno();
        }
    }

    /** A packet the interface received (the filter handed it over): to the kernel's IPv4, as {@code proto_input}. */
    @Override public int input(Ifnet ifp, int protocolFamily, Mbuf m, int frameHeader) {
        return kpi.protocols().protoInput(ProtocolFamily.PF_INET, m); // 0: IPv4 took it; an errno: the kernel frees it
    }

    /** Nothing to prepare: a tunnel has no link addresses, and the interface's output adds the outer headers. */
    @Override public int preOutput(Ifnet ifp, int protocolFamily, Mbuf m, FrameInfo frame) { return 0; }

    // ---- the kernel control ----

    @Override public int connect(ControlConnection connection) { return 0; }

    @Override public int send(ControlConnection connection, Mbuf m, int flags) {
        byte[] b = new byte[m.packetLength()];
        m.copyData(0, b, 0, b.length);
        m.free();
        String reply;
        try {
            reply = command(new String(b, StandardCharsets.UTF_8).strip().split("\\s+"));
        } catch (KpiException e) {
            reply = "error: " + e.getMessage();
        }
        return kpi.controls().enqueueData(control, connection.unit(), ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
    }

    private String command(String[] w) throws KpiException {
        switch (w[0]) {
            case "create" -> {
                return create(w);
            }
            case "destroy" -> {
                if (w.length != 2) throw usage();
                TunnelInterface t;
                synchronized (this) {
                    t = tunnels.remove(w[1]);
                    if (t == null) throw new KpiException(Errno.ENOENT, "no tunnel " + w[1]);
                    publish();
                }
                kpi.interfaces().detach(t.ifp); // asynchronous: the kernel unplumbs IPv4 and forgets the routes
                return "destroyed " + t.name;
            }
            case "list" -> {
                if (w.length != 1) throw usage();
                StringBuilder b = new StringBuilder();
                for (TunnelInterface t : new TreeMap<>(tunnels).values()) b.append(t.describe()).append('\n');
                return b.isEmpty() ? "no tunnels" : b.toString().strip();
            }
            default -> throw usage();
        }
    }

    private String create(String[] w) throws KpiException {
        if (w.length < 2 || !w[1].matches("ktun\\d{1,3}")) throw new KpiException(Errno.EINVAL, "a tunnel is named ktunN (N 0..255)");
        int unit = Integer.parseInt(w[1].substring(4));
        if (unit > 255) throw new KpiException(Errno.EINVAL, "a tunnel is named ktunN (N 0..255)");
        Integer local = null, remote = null;
        int port = DEFAULT_PORT, remotePort = -1, mtu = 1500 - TunnelInterface.OUTER;
        for (int i = 2; i < w.length; i += 2) {
            if (i + 1 == w.length) throw new KpiException(Errno.EINVAL, "'" + w[i] + "' needs a value");
            String v = w[i + 1];
            switch (w[i]) {
                case "local" -> local = address(v);
                case "remote" -> remote = address(v);
                case "port" -> port = (int) number(v, 1, 65535, "a port");
                case "remote-port" -> remotePort = (int) number(v, 1, 65535, "a port");
                case "mtu" -> mtu = (int) number(v, 68, 65535 - TunnelInterface.OUTER, "an MTU");
                default -> throw new KpiException(Errno.EINVAL, "unknown option '" + w[i] + "' (local, remote, port, remote-port, mtu)");
            }
        }
        if (local == null || remote == null) throw new KpiException(Errno.EINVAL, "create needs 'local A.B.C.D' and 'remote A.B.C.D'");
        if (!isLocal(local)) throw new KpiException(Errno.EADDRNOTAVAIL, ip(local) + " is not an address of this host");
        if (remotePort < 0) remotePort = port;
        TunnelInterface t = new TunnelInterface(this, w[1], local, remote, port, remotePort);
        synchronized (this) {
            if (tunnels.containsKey(t.name)) throw new KpiException(Errno.EEXIST, t.name + " exists");
            for (TunnelInterface o : tunnels.values()) {
                if (o.local == local && o.remote == remote && o.port == port) {
                    throw new KpiException(Errno.EEXIST, o.name + " has the same ends and port");
                }
            }
            Ifnet ifp = kpi.interfaces().allocate(IfnetInit.builder("ktun", unit, IfnetFamily.GIF, t::output).mtu(mtu)
                    .type(Ifnet.IFT_OTHER).uniqueId("tunnel:" + t.name).detached(ours::remove).build());
            ours.add(ifp);
            int r = kpi.interfaces().attach(ifp); // plumbs IPv4 on it, through this extension's plumber
            if (r != 0) {
                kpi.interfaces().detach(ifp);
                throw new KpiException(r, "cannot attach " + t.name);
            }
            ifp.setFlags(Ifnet.IFF_UP | Ifnet.IFF_RUNNING | Ifnet.IFF_POINTOPOINT | Ifnet.IFF_NOARP,
                    Ifnet.IFF_UP | Ifnet.IFF_RUNNING | Ifnet.IFF_POINTOPOINT | Ifnet.IFF_NOARP);
            t.ifp = ifp;
            tunnels.put(t.name, t);
            publish();
        }
        return t.name + " local " + ip(local) + ":" + port + " remote " + ip(remote) + ":" + remotePort + " mtu " + mtu;
    }

    /** The filter's table from the map; under this object's lock. */
    private void publish() {
        table = tunnels.values().toArray(new TunnelInterface[0]);
        Arrays.sort(table, (a, b) -> a.name.compareTo(b.name));
    }

    private boolean isLocal(int a) {
        for (Ifnet i : kpi.interfaces().list()) {
            for (IfnetAddress x : i.addressList()) {
                byte[] b = x.address().getAddress();
                if (b.length == 4 && ((b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff)) == a) return true;
            }
        }
        return false;
    }

    private static KpiException usage() {
        return new KpiException(Errno.EINVAL, "usage: create ktunN local A.B.C.D remote A.B.C.D [port P] [remote-port Q] [mtu M]"
                + " | destroy ktunN | list");
    }

    private static int address(String s) throws KpiException {
        String[] p = s.split("\\.", -1);
        if (p.length == 4) {
            try {
                int a = 0;
                for (String x : p) a = a << 8 | (int) number(x, 0, 255, "");
                return a;
            } catch (KpiException e) {
                // reported below
            }
        }
        throw new KpiException(Errno.EINVAL, "'" + s + "' is not an IPv4 address");
    }

    private static long number(String s, long min, long max, String what) throws KpiException {
        try {
            long v = Long.parseLong(s);
            if (v >= min && v <= max) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new KpiException(Errno.EINVAL, "'" + s + "' is not " + what + " (" + min + ".." + max + ")");
    }

    static String ip(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
    }

    // ---- the advertised port ----

    /** MAP tunnel: replies with the {@code list} text. */
    public int query(KernServ ks, PortMessage msg, int arg) {
        try {
            msg.reply(msg.id(), command(new String[] {"list"}).getBytes(StandardCharsets.UTF_8));
        } catch (KpiException e) {
            return e.errno();
        }
        return 0;
    }
}
