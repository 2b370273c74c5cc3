package org.kextnet.kernel.inet.udp;

import java.lang.foreign.MemorySegment;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Udp;

/**
 * The echo service (RFC 862) on UDP port 7, answered in the kernel: each datagram is turned around in
 * its own buffer on the input thread (addresses and ports swapped; the UDP checksum is unchanged by the
 * swap), so echoing allocates and copies nothing.
 */
public final class UdpEchoService implements AutoCloseable {
    public static final int PORT = 7;

    private final UdpSocket socket;

    private UdpEchoService(UdpSocket socket) {
        this.socket = socket;
    }

    /** Starts the service on {@code port}. */
    public static UdpEchoService start(UdpLayer udp, int port) throws SocketError {
        UdpSocket so = udp.open();
        so.setUpcall(UdpEchoService::reflect);
        so.bind(0, port);
        return new UdpEchoService(so);
    }

    private static void reflect(PacketContext ctx, UdpSocket so, Packet m, int hl) {
        if ((m.flags() & (Packet.F_BROADCAST | Packet.F_MULTICAST)) != 0) {
            m.free(); // never echo to a broadcast: that is an amplifier
            return;
        }
        MemorySegment s = m.segment();
        int ip = m.offset();
        int u = ip + hl;
        int src = Ipv4.src(s, ip), dst = Ipv4.dst(s, ip);
        int sport = Udp.srcPort(s, u), dport = Udp.dstPort(s, u);
        if (isServicePort(sport) || sport == so.localPort()) {
            // A datagram "from" another small service is a spoofed loop (echo <-> echo, echo <-> chargen): inetd's check_loop.
            ctx.stats().inc(Stat.UDP_ECHO_REFUSED);
            m.free();
            return;
        }
        if (hl > Ipv4.MIN_HEADER) {
            // Drop the options: the reply gets a plain header in front of the same datagram.
            MemorySegment.copy(s, ip, s, ip + hl - Ipv4.MIN_HEADER, Ipv4.MIN_HEADER);
            m.adj(hl - Ipv4.MIN_HEADER);
            ip = m.offset();
            s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, ip, (byte) 0x45);
            Ipv4.setTotalLength(s, ip, m.length());
        }
        Ipv4.setSrc(s, ip, dst);
        Ipv4.setDst(s, ip, src);
        Ipv4.setTtl(s, ip, Ipv4.DEFAULT_TTL);
        Ipv4.setFrag(s, ip, 0);
        Ipv4.fillChecksum(s, ip);
        s.set(Bytes.U16, ip + Ipv4.MIN_HEADER + Udp.SRC_PORT, (short) dport);
        s.set(Bytes.U16, ip + Ipv4.MIN_HEADER + Udp.DST_PORT, (short) sport);
        m.setFlags(0);
        m.setCsumFlags(0);
        ctx.stats().inc(Stat.UDP_OUT);
        so.layer().ip.output().outputPacket(ctx, m);
    }

    /** Port 0 and the answering small services (echo, discard, daytime, chargen, time). */
    static boolean isServicePort(int port) {
        return port == 0 || port == 7 || port == 9 || port == 13 || port == 19 || port == 37;
    }

    public int port() { return socket.localPort(); }

    @Override public void close() { socket.close(); }
}
