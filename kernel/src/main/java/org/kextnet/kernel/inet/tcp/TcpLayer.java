package org.kextnet.kernel.inet.tcp;

import java.lang.foreign.MemorySegment;
import java.util.List;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.InetConfig;
import org.kextnet.kernel.inet.Ipv4Layer;
import org.kextnet.kernel.inet.Route;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Layers.TransportProtocol;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Icmp;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;

/**
 * TCP on IPv4 for one kernel: the engine ({@link TcpStack}) joined to IPv4 in both directions, and the sockets code
 * in the JVM opens ({@link TcpSocket}). As IPv4's {@link TransportProtocol} (protocol 6 in its protocol switch) it
 * hands each segment for this host to the engine with its addresses in the engine's family-independent form, and
 * each ICMP error quoting one of our segments to {@link TcpStack#networkError}; as the engine's {@link TcpNetwork}
 * it sends segments through IPv4 output with DF set (path MTU discovery), sums the pseudo-header and answers for
 * routes and local addresses. IPv6 will join the same engine the same way.
 */
public final class TcpLayer implements TransportProtocol, TcpNetwork {
    private final Ipv4Layer ip;
    private final InetConfig config;
    private final Contexts contexts;
    private final SocketFilters sockets;
    private final TcpStack stack;

    public TcpLayer(Ipv4Layer ip, SocketFilters sockets, Buffers buffers, TimerWheel wheel, Contexts contexts, TcpConfig cfg) {
        this.ip = ip;
        this.config = ip.config();
        this.contexts = contexts;
        this.sockets = sockets;
        this.stack = new TcpStack(this, wheel, buffers, contexts.stats(), cfg);
    }

    /** The engine. */
    public TcpStack stack() { return stack; }

    /** The kernel's socket filter registry: TCP sockets join it as every socket does. */
    SocketFilters sockets() { return sockets; }

    Contexts contexts() { return contexts; }

    /** A new TCP socket (the global socket filters for TCP attach to it). */
    public TcpSocket open() {
        TcpSocket so = new TcpSocket(this);
        sockets.socketCreated(so);
        return so;
    }

    /** The connections and listeners, for {@code netstat}. */
    public List<TcpInfo> connections() { return stack.connections(); }

    // ---- from IPv4 ----

    @Override public void input(PacketContext ctx, Packet m, int headerLength) {
        MemorySegment s = m.segment();
        int o = m.offset();
        if ((m.flags() & (Packet.F_BROADCAST | Packet.F_MULTICAST)) != 0) { // RFC 9293 MUST-57
            ctx.stats().inc(Stat.TCP_RCV_BAD_HEADER);
            m.free();
            return;
        }
        long src = TcpEndpoint.v4(Ipv4.src(s, o)), dst = TcpEndpoint.v4(Ipv4.dst(s, o));
        int total = Ipv4.totalLength(s, o);
        if (m.length() > total) m.setLength(total);
        m.adj(headerLength);
        stack.input(m, 0, src, 0, dst);
    }

    @Override public void error(PacketContext ctx, int type, int code, int mtu, Packet m, int quoted) {
        TcpNetwork.Error e = switch (type) {
            case Icmp.UNREACH -> switch (code) {
                case Icmp.UNREACH_NET -> Error.NET_UNREACHABLE;
                case Icmp.UNREACH_HOST -> Error.HOST_UNREACHABLE;
                case Icmp.UNREACH_PROTOCOL -> Error.PROTOCOL_UNREACHABLE;
                case Icmp.UNREACH_PORT -> Error.PORT_UNREACHABLE;
                case Icmp.UNREACH_NEEDFRAG -> Error.FRAGMENTATION_NEEDED;
                default -> Error.ADMIN_PROHIBITED;
            };
            case Icmp.TIME_EXCEEDED -> Error.TIME_EXCEEDED;
            default -> Error.PARAMETER_PROBLEM;
        };
        MemorySegment s = m.segment();
        int q = m.offset() + quoted;
        int qhl = Ipv4.headerLength(s, q);
        int tcp = q + qhl;
        stack.networkError(e, mtu, 0, TcpEndpoint.v4(Ipv4.src(s, q)), 0, TcpEndpoint.v4(Ipv4.dst(s, q)), s, tcp,
                m.offset() + m.length() - tcp);
    }

    // ---- to IPv4 (TcpNetwork) ----

    @Override public int output(Packet segment, long srcHigh, long srcLow, long dstHigh, long dstLow) {
        if (!TcpEndpoint.isV4(dstHigh, dstLow)) {
            segment.free();
            return Errno.EAFNOSUPPORT;
        }
        PacketContext ctx = contexts.acquire();
        try {
            return ip.output().output(ctx, segment, (int) srcLow, (int) dstLow, Ipv4.PROTO_TCP, Ipv4.DEFAULT_TTL, 0, true);
        } finally {
            contexts.release(ctx);
        }
    }

    @Override public long pseudoHeaderSum(long srcHigh, long srcLow, long dstHigh, long dstLow, int tcpLength) {
        return Checksum.pseudoHeader((int) srcLow, (int) dstLow, Ipv4.PROTO_TCP, tcpLength);
    }

    @Override public int routeMtu(long dstHigh, long dstLow) {
        Route r = config.routeFor((int) dstLow);
        return r == null ? 0 : r.ifp().mtu();
    }

    @Override public boolean sourceAddress(long dstHigh, long dstLow, long[] out) {
        int src = config.sourceAddressFor((int) dstLow);
        if (src == 0) return false;
        out[0] = 0;
        out[1] = TcpEndpoint.v4(src);
        return true;
    }

    @Override public boolean isLocalAddress(long high, long low) {
        return TcpEndpoint.isV4(high, low) && config.isLocalAddress((int) low);
    }

    /**
     * Segments to this host's own addresses (through lo0) need no TCP checksum. Segments through other trusted
     * devices (a memory wire) are summed all the same, since a kernel on the far side may forward them to a link
     * that checks; the receiving side skips verifying them ({@code IpOutput} marks them).
     */
    @Override public boolean checksumOffload(long dstHigh, long dstLow) {
        Route r = config.routeFor((int) dstLow);
        return r != null && r.ifp().family() == IfFamily.LOOPBACK;
    }

    /** The route's device's segmentation offload ({@link org.kextnet.kernel.net.Layers.Driver#tsoMaxSize()}). */
    @Override public int segmentOffload(long dstHigh, long dstLow) {
        Route r = config.routeFor((int) dstLow);
        return r == null ? 0 : Math.min(r.ifp().driver().tsoMaxSize(), Ipv4.MAX_PACKET);
    }

    /** An errno from a socket call, as the socket layer reports it. */
    static SocketError error(TcpException e) { return new SocketError(e.errno(), e.getMessage()); }
}
