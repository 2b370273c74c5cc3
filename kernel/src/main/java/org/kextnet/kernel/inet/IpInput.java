package org.kextnet.kernel.inet;

import java.lang.foreign.MemorySegment;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.nke.FilterEntry;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.StatCells;
import org.kextnet.kernel.wire.Icmp;
import org.kextnet.kernel.wire.Ipv4;

/**
 * IPv4 input (xnu's {@code ip_input}): header checks, local delivery (after reassembly, through the IP
 * filters) to ICMP and UDP, and forwarding between interfaces when it is enabled.
 */
public final class IpInput {
    private final Kernel kernel;

    public IpInput(Kernel kernel) {
        this.kernel = kernel;
    }

    /** A received packet ({@code m} starts at the IP header, link header stripped). Takes ownership. */
    public void input(PacketContext ctx, Interface ifp, Mbuf m) {
        StatCells st = ctx.stats();
        st.inc(Stat.IP_TOTAL);
        MemorySegment s = m.segment();
        int off = m.offset();
        int len = m.length();
        boolean trusted = (m.csumFlags() & Mbuf.CSUM_IP_VALID) != 0;
        Stat bad = Ipv4.check(s, off, len, trusted);
        if (bad != null) {
            st.inc(bad);
            m.free();
            return;
        }
        int total = Ipv4.totalLength(s, off);
        if (len > total) m.setLength(total); // Ethernet padding
        int src = Ipv4.src(s, off);
        int dst = Ipv4.dst(s, off);
        boolean loopback = ifp.family() == IfFamily.LOOPBACK;
        // One of our own addresses as the source can only be spoofed when it comes from a link, and answering
        // it would loop (an echo reflected to ourselves forever): dropped, as Linux does without accept_local.
        if ((Ipv4.isMartianSource(src) && !(loopback && (src >>> 24) == 127))
                || (!loopback && kernel.isLocalAddress(src))
                || (Ipv4.isMartianDestination(dst) && !(loopback && kernel.isLocalAddress(dst)))) {
            st.inc(Stat.IP_BAD_ADDRESS);
            m.free();
            return;
        }
        // A link-layer broadcast alone does not make a packet ours: its IP destination must (RFC 1122 3.3.6).
        boolean broadcast = ifp.isBroadcastFor(dst);
        if (broadcast || kernel.isLocalAddress(dst)) {
            if (broadcast) m.addFlags(Mbuf.F_BROADCAST);
            if (Ipv4.isFragment(s, off)) {
                m = kernel.reassembly().insert(ctx, m);
                if (m == null) return;
            }
            deliver(ctx, m);
            return;
        }
        if (Ipv4.isMulticast(dst)) {
            // No multicast membership yet: nothing on this host listens.
            st.inc(Stat.IP_CANT_FORWARD);
            m.free();
            return;
        }
        forward(ctx, m);
    }

    /**
     * Hands a whole (reassembled) datagram for this host to the IP input filters, then to its transport
     * protocol. Takes ownership.
     */
    public void deliver(PacketContext ctx, Mbuf m) {
        deliver(ctx, m, null);
    }

    /**
     * As {@link #deliver(PacketContext, Mbuf)}, running only the input filters after {@code resumeAfter}
     * ({@code ipf_inject_input} with a filter reference). Takes ownership.
     */
    public void deliver(PacketContext ctx, Mbuf m, FilterEntry<?> resumeAfter) {
        MemorySegment s = m.segment();
        int off = m.offset();
        if (!kernel.ipFilters().input(ctx, m, Ipv4.headerLength(s, off), Ipv4.protocol(s, off), resumeAfter)) return;
        // A filter may have rewritten the header: read it again.
        int hl = Ipv4.headerLength(s, m.offset());
        ctx.stats().inc(Stat.IP_DELIVERED);
        switch (Ipv4.protocol(s, m.offset())) {
            case Ipv4.PROTO_ICMP -> kernel.icmp().input(ctx, m, hl);
            case Ipv4.PROTO_UDP -> kernel.udp().input(ctx, m, hl);
            default -> {
                if (kernel.domains().inetInput(ctx, m, Ipv4.protocol(s, m.offset()), hl)) return; // an extension's protocol
                ctx.stats().inc(Stat.IP_NO_PROTO);
                kernel.icmp().error(ctx, m, Icmp.UNREACH, Icmp.UNREACH_PROTOCOL, 0);
                m.free();
            }
        }
    }

    /** Forwards a packet not addressed to this host (RFC 1812 5.2). Takes ownership. */
    void forward(PacketContext ctx, Mbuf m) {
        StatCells st = ctx.stats();
        if (!kernel.forwarding() || (m.flags() & (Mbuf.F_BROADCAST | Mbuf.F_MULTICAST)) != 0) {
            st.inc(Stat.IP_CANT_FORWARD);
            m.free();
            return;
        }
        MemorySegment s = m.segment();
        int off = m.offset();
        if (Ipv4.ttl(s, off) <= 1) {
            st.inc(Stat.IP_TTL_EXCEEDED);
            kernel.icmp().error(ctx, m, Icmp.TIME_EXCEEDED, Icmp.TIMX_INTRANS, 0);
            m.free();
            return;
        }
        int dst = Ipv4.dst(s, off);
        Route r = kernel.routes().lookup(dst);
        if (r == null) {
            st.inc(Stat.IP_NO_ROUTE);
            kernel.icmp().error(ctx, m, Icmp.UNREACH, Icmp.UNREACH_NET, 0);
            m.free();
            return;
        }
        Ipv4.decrementTtl(s, off);
        m.addFlags(Mbuf.F_FORWARDED);
        if (kernel.ipFilters().output(ctx, m, null, null) != 0) return; // taken or dropped by an IP filter
        st.inc(Stat.IP_FORWARDED);
        kernel.ipOutput().send(ctx, m, r.ifp(), r.nextHop(dst));
    }
}
