package org.kextnet.kernel.inet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.FilterEntry;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Icmp;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.ipfilter.IpPacketOptions;

/**
 * IPv4 output (xnu's {@code ip_output}): routes locally originated packets, runs the IP output filters, and
 * fragments any packet, local or forwarded, that is larger than the outgoing interface's MTU. A TCP super-segment
 * (segmentation offload) is never fragmented: the device segments it, or {@link Offloads} does before a device that
 * would not.
 */
public final class IpOutput {
    private final InetConfig config;
    private final IpFilters filters;
    private final Buffers buffers;
    /** ICMP, for fragmentation-needed errors; wired once by {@link Ipv4Layer} (ICMP sends through this class). */
    private IcmpLayer icmp;
    private final AtomicInteger nextId = new AtomicInteger((int) System.nanoTime());

    public IpOutput(InetConfig config, IpFilters filters, Buffers buffers) {
        this.config = config;
        this.filters = filters;
        this.buffers = buffers;
    }

    void setIcmp(IcmpLayer icmp) { this.icmp = icmp; }

    /**
     * Prepends an IPv4 header to {@code m} (which starts at the transport header) and sends it.
     * Always takes ownership.
     *
     * @param src source address, or 0 to use the outgoing interface's address
     * @return 0, or ENETUNREACH (no route), EMSGSIZE (too large with DF set), ENOBUFS
     */
    public int output(PacketContext ctx, Packet m, int src, int dst, int protocol, int ttl, int tos, boolean dontFragment) {
        Route r = config.routeFor(dst);
        if (r == null) {
            ctx.stats().inc(Stat.IP_NO_ROUTE);
            m.free();
            return Errno.ENETUNREACH;
        }
        if (!m.prepend(Ipv4.MIN_HEADER)) {
            ctx.stats().inc(Stat.IP_OUT_NO_BUFFERS);
            m.free();
            return Errno.ENOBUFS;
        }
        if (src == 0) src = r.ifp().primaryAddress();
        int total = m.length();
        if (total > Ipv4.MAX_PACKET) {
            m.free();
            return Errno.EMSGSIZE;
        }
        // A TCP super-segment becomes that many datagrams, each with the next ID (as Linux's segmentation numbers
        // them): it takes them all, so that no later datagram repeats one.
        int ids = 1;
        int tso = m.tsoSegmentSize();
        if (tso > 0) {
            if (protocol == Ipv4.PROTO_TCP && total >= Ipv4.MIN_HEADER + Tcp.MIN_HEADER) {
                int payload = total - Ipv4.MIN_HEADER - Tcp.headerLength(m.segment(), m.offset() + Ipv4.MIN_HEADER);
                ids = Math.max(1, (payload + tso - 1) / tso);
            } else {
                m.setTsoSegmentSize(0);
            }
        }
        Ipv4.write(m.segment(), m.offset(), tos, total, (ids == 1 ? nextId.getAndIncrement() : nextId.getAndAdd(ids)) & 0xffff,
                dontFragment ? Ipv4.FLAG_DF : 0, ttl, protocol, src, dst);
        ctx.stats().inc(Stat.IP_LOCAL_OUT);
        int f = filters.output(ctx, m, null, null);
        if (f != 0) return f == Errno.EJUSTRETURN ? 0 : f;
        return sendRouted(ctx, m, r, dst);
    }

    /**
     * Sends a packet that already has its whole IPv4 header (a reply turned around in place, an injected
     * packet): routes it by its destination. Always takes ownership.
     */
    public int outputPacket(PacketContext ctx, Packet m) {
        return outputPacket(ctx, m, null, null);
    }

    /**
     * As {@link #outputPacket(PacketContext, Packet)}, running only the output filters after {@code resumeAfter}
     * ({@code ipf_inject_output}). Always takes ownership.
     */
    public int outputPacket(PacketContext ctx, Packet m, IpPacketOptions options, FilterEntry<?> resumeAfter) {
        // A header from elsewhere (a filter's injection, an ICMP reply in place): checked as input checks one, but
        // for its checksum, which output fills in. Fragmenting walks its options, so they must be well formed.
        Ipv4.Fault bad = Ipv4.check(m.segment(), m.offset(), m.length(), true);
        if (bad != null) {
            ctx.stats().inc(IpInput.dropStat(bad));
            m.free();
            return Errno.EINVAL;
        }
        int dst = Ipv4.dst(m.segment(), m.offset());
        Route r = config.routeFor(dst);
        if (r == null) {
            ctx.stats().inc(Stat.IP_NO_ROUTE);
            m.free();
            return Errno.ENETUNREACH;
        }
        ctx.stats().inc(Stat.IP_LOCAL_OUT);
        int f = filters.output(ctx, m, options, resumeAfter);
        if (f != 0) return f == Errno.EJUSTRETURN ? 0 : f;
        return sendRouted(ctx, m, r, dst);
    }

    private int sendRouted(PacketContext ctx, Packet m, Route r, int dst) {
        if (r.ifp().driver().trusted()) {
            // Our own checksums need no second look when the packet comes in on the other side of memory.
            m.setCsumFlags(m.csumFlags() | Packet.CSUM_IP_CHECKED | Packet.CSUM_IP_VALID | Packet.CSUM_DATA_VALID);
        }
        return send(ctx, m, r.ifp(), r.nextHop(dst));
    }

    /**
     * Sends a packet with a complete header out of {@code ifp} to {@code nextHop}, fragmenting it if needed. A packet
     * that left work to the device (a TCP super-segment, a partial checksum) goes to a device that does it as it is,
     * else it is finished first ({@link Offloads}): never fragmented for its size.
     */
    int send(PacketContext ctx, Packet m, Interface ifp, int nextHop) {
        if (Offloads.pending(m)) return Offloads.send(ctx, m, ifp, nextHop, this, buffers);
        int mtu = ifp.mtu();
        if (m.length() <= mtu) {
            ifp.output(ctx, m, nextHop);
            return 0;
        }
        return fragment(ctx, m, ifp, nextHop, mtu);
    }

    /**
     * Sends the packets of a vector of forwarded packets (complete headers, TTL turned) and empties it: each
     * run of packets to one interface goes to that interface as a vector, a packet larger than its
     * interface's MTU is fragmented on its own, in its place in the order. Each packet passes the IP output
     * filters just before it is framed, after the packets before it have been sent ({@link PreOutput}).
     */
    void send(PacketContext ctx, ForwardVector v) {
        Packet[] packets = v.packets;
        Interface[] interfaces = v.interfaces;
        ctx.enter(); // the filter chain is taken once and called for every packet: no detach meanwhile
        try {
            ForwardVector.Filters filters = v.filters(this.filters);
            int n = v.size;
            int i = 0;
            while (i < n) {
                Interface ifp = interfaces[i];
                int mtu = ifp.mtu();
                int j = i;
                while (j < n && interfaces[j] == ifp && packets[j].length() <= mtu && !Offloads.pending(packets[j])) {
                    interfaces[j++] = null;
                }
                if (j > i) {
                    ifp.output(ctx, packets, v.nextHops, i, j, filters);
                    if (filters == null) ctx.stats().add(Stat.IP_FORWARDED, j - i);
                } else { // packets[i] needs fragments, or left work to a device (received from a TUN with offloads)
                    Packet m = packets[i];
                    packets[i] = null;
                    interfaces[i] = null;
                    if (filters == null) ctx.stats().inc(Stat.IP_FORWARDED);
                    if (filters == null || filters.pass(ctx, m)) send(ctx, m, ifp, v.nextHops[i]);
                    j = i + 1;
                }
                i = j;
            }
            v.size = 0;
            if (filters != null) ctx.stats().add(Stat.IP_FORWARDED, filters.done());
        } finally {
            ctx.exit();
        }
    }

    /**
     * Splits a packet into fragments of at most {@code mtu} bytes (RFC 791 section 3.2). Options without
     * the copy bit go only into the first fragment. Takes ownership of {@code m}.
     */
    int fragment(PacketContext ctx, Packet m, Interface ifp, int nextHop, int mtu) {
        MemorySegment s = m.segment();
        int off = m.offset();
        if (Ipv4.dontFragment(s, off)) {
            ctx.stats().inc(Stat.IP_CANT_FRAGMENT);
            if ((m.flags() & Packet.F_FORWARDED) != 0) {
                icmp.error(ctx, m, Icmp.UNREACH, Icmp.UNREACH_NEEDFRAG, mtu);
            }
            m.free();
            return Errno.EMSGSIZE;
        }
        int hl = Ipv4.headerLength(s, off);
        int total = Ipv4.totalLength(s, off);
        int origFrag = Ipv4.frag(s, off);
        int baseOffset = (origFrag & Ipv4.OFFSET_MASK) << 3;   // re-fragmenting a fragment
        boolean origMore = (origFrag & Ipv4.FLAG_MF) != 0;
        byte[] laterHeader = copiedOptionsHeader(s, off, hl);
        int pos = hl;
        boolean first = true;
        int created = 0;
        while (pos < total) {
            int fhl = first ? hl : laterHeader.length;
            int room = (mtu - fhl) & ~7;
            if (room <= 0) {
                ctx.stats().inc(Stat.IP_CANT_FRAGMENT);
                m.free();
                return Errno.EMSGSIZE;
            }
            int chunk = Math.min(room, total - pos);
            boolean last = pos + chunk >= total;
            Packet f = buffers.alloc(fhl + chunk);
            if (f == null) {
                ctx.stats().inc(Stat.IP_OUT_NO_BUFFERS);
                m.free();
                return Errno.ENOBUFS;
            }
            f.setLength(fhl + chunk);
            MemorySegment fs = f.segment();
            int fo = f.offset();
            if (first) MemorySegment.copy(s, off, fs, fo, hl);
            else MemorySegment.copy(MemorySegment.ofArray(laterHeader), 0, fs, fo, fhl);
            MemorySegment.copy(s, off + pos, fs, fo + fhl, chunk);
            int fragOffset = baseOffset + pos - hl;
            Ipv4.setTotalLength(fs, fo, fhl + chunk);
            Ipv4.setFrag(fs, fo, (origFrag & Ipv4.FLAG_DF) | ((!last || origMore) ? Ipv4.FLAG_MF : 0) | (fragOffset >>> 3));
            Ipv4.fillChecksum(fs, fo);
            f.setFlags(m.flags());
            f.setCsumFlags(m.csumFlags());
            ifp.output(ctx, f, nextHop);
            created++;
            pos += chunk;
            first = false;
        }
        ctx.stats().inc(Stat.IP_FRAGMENTED);
        ctx.stats().add(Stat.IP_FRAGMENTS_CREATED, created);
        m.free();
        return 0;
    }

    /** The header for fragments after the first: fixed part plus options whose copy bit is set, padded. */
    /** The header of a later fragment: the options whose copied bit is set (RFC 791 3.1); the list is well formed. */
    private static byte[] copiedOptionsHeader(MemorySegment s, int off, int hl) {
        if (hl == Ipv4.MIN_HEADER) {
            byte[] h = new byte[Ipv4.MIN_HEADER];
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, off, h, 0, Ipv4.MIN_HEADER);
            return h;
        }
        byte[] h = new byte[hl];
        MemorySegment.copy(s, ValueLayout.JAVA_BYTE, off, h, 0, Ipv4.MIN_HEADER);
        int w = Ipv4.MIN_HEADER;
        int i = Ipv4.MIN_HEADER;
        while (i < hl) {
            int type = s.get(ValueLayout.JAVA_BYTE, off + i) & 0xff;
            if (type == 0) break;
            if (type == 1) { i++; continue; }
            int olen = s.get(ValueLayout.JAVA_BYTE, off + i + 1) & 0xff;
            if ((type & 0x80) != 0) {
                MemorySegment.copy(s, ValueLayout.JAVA_BYTE, off + i, h, w, olen);
                w += olen;
            }
            i += olen;
        }
        int nhl = (w + 3) & ~3;      // pad with end-of-options (zeros)
        byte[] r = java.util.Arrays.copyOf(h, nhl);
        r[0] = (byte) (0x40 | (nhl >>> 2));
        return r;
    }
}
