package org.kextnet.kernel.inet.udp;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.Ipv4Layer;
import org.kextnet.kernel.net.Layers.TransportProtocol;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.StatCells;
import org.kextnet.kernel.wire.Icmp;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Udp;
import org.kextnet.kpi.Errno;

/**
 * UDP (RFC 768): input checks and demultiplexing to sockets by local port, port unreachable when nobody
 * listens, and the port table (one socket per port, bound to one address or to all).
 */
public final class UdpLayer implements TransportProtocol {
    public static final int EPHEMERAL_FIRST = 49152, EPHEMERAL_LAST = 65535;
    private static final VarHandle PORTS = MethodHandles.arrayElementVarHandle(UdpSocket[].class);

    final Ipv4Layer ip;
    final SocketFilters sockets;
    final Buffers buffers;
    private final UdpSocket[] ports = new UdpSocket[65536];
    private int nextEphemeral = EPHEMERAL_FIRST;

    public UdpLayer(Ipv4Layer ip, SocketFilters sockets, Buffers buffers) {
        this.ip = ip;
        this.sockets = sockets;
        this.buffers = buffers;
    }

    /** A datagram for this host ({@code m} starts at the IP header). Takes ownership. */
    @Override public void input(PacketContext ctx, Packet m, int hl) {
        StatCells st = ctx.stats();
        MemorySegment s = m.segment();
        int ip = m.offset();
        int u = ip + hl;
        int avail = m.length() - hl;
        if (avail < Udp.HEADER_LEN) {
            st.inc(Stat.UDP_HDR_DROPS);
            m.free();
            return;
        }
        int ulen = Udp.length(s, u);
        if (ulen < Udp.HEADER_LEN || ulen > avail) {
            st.inc(Stat.UDP_BAD_LEN);
            m.free();
            return;
        }
        if (ulen < avail) m.setLength(hl + ulen);
        int src = Ipv4.src(s, ip);
        int dst = Ipv4.dst(s, ip);
        if (Udp.checksum(s, u) != 0 && (m.csumFlags() & Packet.CSUM_DATA_VALID) == 0
                && Udp.computeChecksum(s, u, ulen, src, dst) != 0) {
            st.inc(Stat.UDP_BAD_SUM);
            m.free();
            return;
        }
        st.inc(Stat.UDP_IN);
        UdpSocket so = (UdpSocket) PORTS.getAcquire(ports, Udp.dstPort(s, u));
        if (so == null || !so.accepts(dst, src, Udp.srcPort(s, u))) {
            if ((m.flags() & (Packet.F_BROADCAST | Packet.F_MULTICAST)) != 0) {
                st.inc(Stat.UDP_NO_PORT_BCAST);
            } else {
                st.inc(Stat.UDP_NO_PORT);
                this.ip.icmp().error(ctx, m, Icmp.UNREACH, Icmp.UNREACH_PORT, 0);
            }
            m.free();
            return;
        }
        so.deliver(ctx, m, hl);
    }

    /** An ICMP error about a datagram we sent: the socket that sent it hears of it (see {@link UdpSocket#icmpError}). */
    @Override public void error(PacketContext ctx, int type, int code, int mtu, Packet m, int quoted) {
        if (type != Icmp.UNREACH) return; // time exceeded and parameter problems are soft: nobody is told
        int errno = switch (code) {
            case Icmp.UNREACH_PORT, Icmp.UNREACH_PROTOCOL -> Errno.ECONNREFUSED;
            case Icmp.UNREACH_NET -> Errno.ENETUNREACH;
            case Icmp.UNREACH_HOST -> Errno.EHOSTUNREACH;
            default -> 0;
        };
        if (errno == 0) return;
        MemorySegment s = m.segment();
        int q = m.offset() + quoted;
        int u = q + Ipv4.headerLength(s, q);
        UdpSocket so = (UdpSocket) PORTS.getAcquire(ports, Udp.srcPort(s, u));
        if (so != null) so.icmpError(Ipv4.dst(s, q), Udp.dstPort(s, u), errno);
    }

    /** Opens an unbound socket; the global socket filters for UDP attach to it. */
    public UdpSocket open() {
        UdpSocket so = new UdpSocket(sockets, this);
        sockets.socketCreated(so);
        return so;
    }

    /** Binds {@code so} to {@code port} (0 picks an ephemeral port); returns the port or a negative errno. */
    synchronized int bind(UdpSocket so, int port) {
        if (port == 0) {
            for (int i = 0; i <= EPHEMERAL_LAST - EPHEMERAL_FIRST; i++) {
                int p = nextEphemeral;
                nextEphemeral = p == EPHEMERAL_LAST ? EPHEMERAL_FIRST : p + 1;
                if (ports[p] == null) {
                    PORTS.setRelease(ports, p, so);
                    return p;
                }
            }
            return -Errno.EADDRNOTAVAIL;
        }
        if (port < 0 || port > 65535) return -Errno.EINVAL;
        if (ports[port] != null) return -Errno.EADDRINUSE;
        PORTS.setRelease(ports, port, so);
        return port;
    }

    synchronized void unbind(UdpSocket so, int port) {
        if (ports[port] == so) PORTS.setRelease(ports, port, null);
    }

    /** The bound sockets ({@code netstat -a}). */
    public synchronized List<UdpSocket> sockets() {
        List<UdpSocket> l = new ArrayList<>();
        for (UdpSocket so : ports) if (so != null) l.add(so);
        return l;
    }
}
