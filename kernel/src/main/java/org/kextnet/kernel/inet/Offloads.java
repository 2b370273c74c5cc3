package org.kextnet.kernel.inet;

import java.lang.foreign.MemorySegment;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kpi.Errno;

/**
 * What IPv4 output does for a packet whose work was left to a device ({@link Packet#CSUM_PARTIAL}, {@link
 * Packet#tsoSegmentSize()}) when the device it leaves by will not do it: finishes the transport checksum, and cuts a
 * TCP super-segment into segments in software (Linux's GSO). A TUN device with offloads takes such packets as they
 * are; the memory wire, TAP and loopback take them finished, so what TCP built for one route is right on any.
 */
final class Offloads {
    private Offloads() {}

    /** Whether {@code m} carries work left to a device. */
    static boolean pending(Packet m) {
        return m.tsoSegmentSize() != 0 || (m.csumFlags() & Packet.CSUM_PARTIAL) != 0;
    }

    /**
     * Sends {@code m}, an IPv4 packet with a complete header that {@link #pending} says carries offloaded work, out of
     * {@code ifp}: as it is if the device does the work, else finished here. Takes ownership.
     * @return 0 or an errno (ENOBUFS, EMSGSIZE)
     */
    static int send(PacketContext ctx, Packet m, Interface ifp, int nextHop, IpOutput out, Buffers buffers) {
        int max = ifp.driver().tsoMaxSize();
        if (max > 0 && m.length() <= max) {
            ifp.output(ctx, m, nextHop);
            return 0;
        }
        int mtu = ifp.mtu();
        if (m.next() != null && m.pullup(m.packetLength()) != 0) {
            ctx.stats().inc(Stat.IP_OUT_NO_BUFFERS);
            m.free();
            return Errno.ENOBUFS;
        }
        if (m.tsoSegmentSize() > 0 && m.length() > mtu && isTcp(m)) return segment(ctx, m, ifp, nextHop, mtu, buffers);
        finishChecksum(m);
        return out.send(ctx, m, ifp, nextHop);
    }

    private static boolean isTcp(Packet m) {
        MemorySegment s = m.segment();
        long o = m.offset();
        return m.length() >= Ipv4.MIN_HEADER && Ipv4.protocol(s, o) == Ipv4.PROTO_TCP
                && m.length() >= Ipv4.headerLength(s, o) + Tcp.MIN_HEADER;
    }

    /**
     * Completes the TCP or UDP checksum of a {@link Packet#CSUM_PARTIAL} IPv4 packet (its field holds the
     * pseudo-header sum) and clears the offload state. A packet of another protocol has no partial checksum to finish.
     */
    static void finishChecksum(Packet m) {
        if ((m.csumFlags() & Packet.CSUM_PARTIAL) != 0 && m.length() >= Ipv4.MIN_HEADER) {
            MemorySegment s = m.segment();
            long o = m.offset();
            int hl = Ipv4.headerLength(s, o);
            int protocol = Ipv4.protocol(s, o);
            int at = Ipv4.transportChecksumOffset(protocol);
            if (at > 0 && hl + at + 2 <= m.length()) {
                int sum = ~Checksum.fold(Checksum.sum(s, o + hl, m.length() - hl, 0)) & 0xffff;
                s.set(Bytes.U16, o + hl + at, (short) (sum == 0 && protocol == Ipv4.PROTO_UDP ? 0xffff : sum));
            }
        }
        m.setCsumFlags(m.csumFlags() & ~Packet.CSUM_PARTIAL);
        m.setTsoSegmentSize(0);
    }

    /**
     * Cuts a TCP super-segment into segments of {@code tsoSegmentSize} payload bytes, each with the IP and TCP headers
     * (options included), its own sequence number, IP ID (the super-segment's, counting up) and both checksums; FIN
     * and PSH only on the last segment and CWR only on the first, as a device's segmentation does. Takes ownership.
     */
    static int segment(PacketContext ctx, Packet m, Interface ifp, int nextHop, int mtu, Buffers buffers) {
        MemorySegment s = m.segment();
        long o = m.offset();
        int hl = Ipv4.headerLength(s, o);
        int thl = Tcp.headerLength(s, o + hl);
        int headers = hl + thl;
        int payload = m.length() - headers;
        int size = Math.min(m.tsoSegmentSize(), mtu - headers);
        if (size <= 0 || payload < 0) {
            ctx.stats().inc(Stat.IP_CANT_FRAGMENT);
            m.free();
            return Errno.EMSGSIZE;
        }
        int seq = Tcp.seq(s, o + hl);
        int flags = Tcp.flags(s, o + hl);
        int id = Ipv4.id(s, o);
        int src = Ipv4.src(s, o), dst = Ipv4.dst(s, o);
        int csumFlags = m.csumFlags() & ~Packet.CSUM_PARTIAL;
        for (int done = 0, i = 0; done < payload || i == 0; i++) {
            int chunk = Math.min(size, payload - done);
            boolean last = done + chunk >= payload;
            Packet f = buffers.alloc(headers + chunk);
            if (f == null) {
                ctx.stats().inc(Stat.IP_OUT_NO_BUFFERS);
                m.free();
                return Errno.ENOBUFS;
            }
            f.setLength(headers + chunk);
            MemorySegment fs = f.segment();
            long fo = f.offset();
            MemorySegment.copy(s, o, fs, fo, headers);
            MemorySegment.copy(s, o + headers + done, fs, fo + headers, chunk);
            Ipv4.setTotalLength(fs, fo, headers + chunk);
            fs.set(Bytes.U16, fo + Ipv4.ID, (short) (id + i));
            Ipv4.fillChecksum(fs, fo);
            long t = fo + hl;
            Tcp.setSeq(fs, t, seq + done);
            Tcp.setFlags(fs, t, flags & ~(last ? 0 : Tcp.FIN | Tcp.PSH) & ~(i == 0 ? 0 : Tcp.CWR));
            Tcp.fillChecksum(fs, t, thl + chunk, Checksum.pseudoHeader(src, dst, Ipv4.PROTO_TCP, thl + chunk));
            f.setFlags(m.flags());
            f.setCsumFlags(csumFlags);
            ifp.output(ctx, f, nextHop);
            done += chunk;
        }
        m.free();
        return 0;
    }
}
