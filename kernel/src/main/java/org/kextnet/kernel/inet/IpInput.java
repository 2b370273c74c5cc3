package org.kextnet.kernel.inet;

import java.lang.foreign.MemorySegment;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.FilterEntry;
import org.kextnet.kernel.inet.InputRouteCache.Verdict;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.TransportProtocol;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.StatCells;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Icmp;
import org.kextnet.kernel.wire.Ipv4;

/**
 * IPv4 input (xnu's {@code ip_input}): header checks, local delivery (after reassembly, through the IP
 * filters) to the transport protocol registered for the datagram's protocol number ({@link ProtocolSwitch}),
 * and forwarding between interfaces when it is enabled.
 */
public final class IpInput {
    private final InetConfig config;
    private final IpFilters filters;
    private final ProtocolSwitch protocols;
    private final IpOutput output;
    private final Reassembly reassembly;
    private final IcmpLayer icmp;

    public IpInput(InetConfig config, IpFilters filters, ProtocolSwitch protocols, IpOutput output, Reassembly reassembly,
                   IcmpLayer icmp) {
        this.config = config;
        this.filters = filters;
        this.protocols = protocols;
        this.output = output;
        this.reassembly = reassembly;
        this.icmp = icmp;
    }

    /** A received packet ({@code m} starts at the IP header, link header stripped). Takes ownership. */
    public void input(PacketContext ctx, Interface ifp, Packet m) {
        StatCells st = ctx.stats();
        st.inc(Stat.IP_TOTAL);
        MemorySegment s = m.segment();
        int off = m.offset();
        int len = m.length();
        if (len < Ipv4.MIN_HEADER) {
            st.inc(Stat.IP_TOO_SHORT);
            m.free();
            return;
        }
        // The fixed header as three words, read once: the checks and everything the packet path needs come
        // from them (every MemorySegment access pays its own bounds and liveness checks).
        long w0 = s.get(Bytes.U64, off);     // version/IHL, TOS, total length, id, flags/fragment offset
        long w1 = s.get(Bytes.U64, off + 8); // TTL, protocol, checksum, source
        int dst = s.get(Bytes.U32, off + Ipv4.DST);
        boolean trusted = (m.csumFlags() & Packet.CSUM_IP_VALID) != 0;
        Ipv4.Fault bad = (w0 >>> 56) == 0x45 ? Ipv4.checkWords(w0, w1, dst, len, trusted) : Ipv4.check(s, off, len, trusted);
        if (bad != null) {
            st.inc(dropStat(bad));
            m.free();
            return;
        }
        int total = (int) (w0 >>> 32) & 0xffff;
        if (len > total) m.setLength(total); // Ethernet padding
        InputRouteCache rc = lookup(ctx.scratch(InputRouteCache.KEY), config.generation(), ifp, (int) w1, dst);
        switch (rc.verdict) {
            case FORWARD -> forward(ctx, m, dst, (int) (w1 >>> 32), rc.route);
            case LOCAL, BROADCAST -> {
                if (rc.verdict == Verdict.BROADCAST) m.addFlags(Packet.F_BROADCAST);
                if ((w0 & (Ipv4.FLAG_MF | Ipv4.OFFSET_MASK)) != 0) {
                    m = reassembly.insert(ctx, m);
                    if (m == null) return;
                }
                deliver(ctx, m);
            }
            case MULTICAST -> {
                // No multicast membership yet: nothing on this host listens.
                st.inc(Stat.IP_CANT_FORWARD);
                m.free();
            }
            case BAD_ADDRESS -> {
                st.inc(Stat.IP_BAD_ADDRESS);
                m.free();
            }
        }
    }

    /**
     * A vector of received packets of {@code ifp} ({@code packets[0..n)}, each starting at its IP header),
     * from a link layer's batch. Takes ownership of them all and clears their slots.
     *
     * <p>Unicast packets to forward, with a plain 20-byte header, are checked and turned (TTL) here, then
     * handed to output as one {@link ForwardVector} (which runs the IP output filters); every other
     * packet goes through {@link #input(PacketContext, Interface, Packet)} on its own, after the packets before
     * it have been sent, so that the vector keeps the order of the batch. The kernel-wide state (forwarding,
     * the configuration generation) is read once per vector, the counters added once.
     */
    public void input(PacketContext ctx, Interface ifp, Packet[] packets, int n) {
        boolean forwarding = config.forwarding();
        int generation = config.generation();
        InputRouteCache rc = ctx.scratch(InputRouteCache.KEY);
        ForwardVector out = ctx.scratch(ForwardVector.KEY);
        IpOutput output = this.output;
        int total = 0;
        for (int i = 0; i < n; i++) {
            Packet m = packets[i];
            packets[i] = null;
            int len = m.length();
            if (forwarding && len >= Ipv4.MIN_HEADER && (m.flags() & (Packet.F_BROADCAST | Packet.F_MULTICAST)) == 0) {
                // A fixed header is there: unchecked access where allowed (Packet.UNCHECKED), as the link layer's.
                MemorySegment s = m.headers();
                long off = m.headerBase();
                long w0 = s.get(Bytes.U64, off);
                long w1 = s.get(Bytes.U64, off + 8);
                int dst = s.get(Bytes.U32, off + Ipv4.DST);
                int ttlWord = (int) (w1 >>> 32);
                if ((w0 >>> 56) == 0x45 && (ttlWord >>> 24) > 1
                        && Ipv4.checkWords(w0, w1, dst, len, (m.csumFlags() & Packet.CSUM_IP_VALID) != 0) == null
                        && lookup(rc, generation, ifp, (int) w1, dst).verdict == Verdict.FORWARD && rc.route != null) {
                    total++;
                    int length = (int) (w0 >>> 32) & 0xffff;
                    if (len > length) m.setLength(length); // Ethernet padding
                    Ipv4.decrementTtl(s, off, ttlWord);
                    m.addFlags(Packet.F_FORWARDED);
                    if (out.isFull()) output.send(ctx, out);
                    Route r = rc.route;
                    out.add(m, r.ifp(), r.nextHop(dst));
                    continue;
                }
            }
            if (out.size > 0) output.send(ctx, out);
            input(ctx, ifp, m);
        }
        if (out.size > 0) output.send(ctx, out);
        ctx.stats().add(Stat.IP_TOTAL, total);
    }

    /** The counter a header that fails {@link Ipv4#check} is dropped under. */
    static Stat dropStat(Ipv4.Fault f) {
        return switch (f) {
            case TOO_SHORT -> Stat.IP_TOO_SHORT;
            case BAD_VERSION -> Stat.IP_BAD_VERSION;
            case BAD_HEADER_LENGTH -> Stat.IP_BAD_HLEN;
            case BAD_LENGTH -> Stat.IP_BAD_LEN;
            case TRUNCATED -> Stat.IP_TOO_SMALL;
            case BAD_CHECKSUM -> Stat.IP_BAD_SUM;
            case BAD_OPTIONS -> Stat.IP_BAD_OPTIONS;
        };
    }

    /** The thread's route cache, made to hold the verdict for this packet's addresses. */
    private InputRouteCache lookup(InputRouteCache rc, int generation, Interface ifp, int src, int dst) {
        if (!rc.matches(generation, ifp, src, dst)) {
            Verdict verdict = classify(ifp, src, dst);
            rc.set(generation, ifp, src, dst, verdict, verdict == Verdict.FORWARD ? config.routes().lookup(dst) : null);
        }
        return rc;
    }

    /** What input does with a packet from {@code src} to {@code dst} received on {@code ifp}. */
    private Verdict classify(Interface ifp, int src, int dst) {
        boolean loopback = ifp.family() == IfFamily.LOOPBACK;
        // One of our own addresses as the source can only be spoofed when it comes from a link, and answering
        // it would loop (an echo reflected to ourselves forever): dropped, as Linux does without accept_local.
        if ((Ipv4.isMartianSource(src) && !(loopback && (src >>> 24) == 127))
                || (!loopback && config.isLocalAddress(src))
                || (Ipv4.isMartianDestination(dst) && !(loopback && config.isLocalAddress(dst)))) {
            return Verdict.BAD_ADDRESS;
        }
        // A link-layer broadcast alone does not make a packet ours: its IP destination must (RFC 1122 3.3.6).
        if (ifp.isBroadcastFor(dst)) return Verdict.BROADCAST;
        if (config.isLocalAddress(dst)) return Verdict.LOCAL;
        return Ipv4.isMulticast(dst) ? Verdict.MULTICAST : Verdict.FORWARD;
    }

    /**
     * Hands a whole (reassembled) datagram for this host to the IP input filters, then to its transport
     * protocol. Takes ownership.
     */
    public void deliver(PacketContext ctx, Packet m) {
        deliver(ctx, m, null);
    }

    /**
     * As {@link #deliver(PacketContext, Packet)}, running only the input filters after {@code resumeAfter}
     * ({@code ipf_inject_input} with a filter reference). Takes ownership.
     */
    public void deliver(PacketContext ctx, Packet m, FilterEntry<?> resumeAfter) {
        MemorySegment s = m.segment();
        int off = m.offset();
        if (!filters.input(ctx, m, Ipv4.headerLength(s, off), Ipv4.protocol(s, off), resumeAfter)) return;
        // A filter may have rewritten the header: read it again.
        int hl = Ipv4.headerLength(s, m.offset());
        ctx.stats().inc(Stat.IP_DELIVERED);
        TransportProtocol p = protocols.get(Ipv4.protocol(s, m.offset()));
        if (p != null) {
            p.input(ctx, m, hl);
            return;
        }
        ctx.stats().inc(Stat.IP_NO_PROTO);
        icmp.error(ctx, m, Icmp.UNREACH, Icmp.UNREACH_PROTOCOL, 0);
        m.free();
    }

    /**
     * Forwards a packet not addressed to this host (RFC 1812 5.2). Takes ownership.
     * @param ttlWord the header's TTL, protocol and checksum word, as received
     * @param r       the route to {@code dst}, or null if there is none
     */
    void forward(PacketContext ctx, Packet m, int dst, int ttlWord, Route r) {
        StatCells st = ctx.stats();
        if (!config.forwarding() || (m.flags() & (Packet.F_BROADCAST | Packet.F_MULTICAST)) != 0) {
            st.inc(Stat.IP_CANT_FORWARD);
            m.free();
            return;
        }
        if ((ttlWord >>> 24) <= 1) {
            st.inc(Stat.IP_TTL_EXCEEDED);
            icmp.error(ctx, m, Icmp.TIME_EXCEEDED, Icmp.TIMX_INTRANS, 0);
            m.free();
            return;
        }
        if (r == null) {
            st.inc(Stat.IP_NO_ROUTE);
            icmp.error(ctx, m, Icmp.UNREACH, Icmp.UNREACH_NET, 0);
            m.free();
            return;
        }
        Ipv4.decrementTtl(m.segment(), m.offset(), ttlWord);
        m.addFlags(Packet.F_FORWARDED);
        if (filters.output(ctx, m, null, null) != 0) return; // taken or dropped by an IP filter
        st.inc(Stat.IP_FORWARDED);
        output.send(ctx, m, r.ifp(), r.nextHop(dst));
    }
}
