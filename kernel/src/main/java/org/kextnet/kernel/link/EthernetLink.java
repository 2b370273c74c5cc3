package org.kextnet.kernel.link;

import java.lang.foreign.MemorySegment;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.DemuxTable;
import org.kextnet.kernel.net.IfFlags;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceFilters;
import org.kextnet.kernel.net.Layers.BatchDriver;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.Layers.LinkLayer;
import org.kextnet.kernel.net.Layers.NextHopResolver;
import org.kextnet.kernel.net.Layers.PreOutput;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.ProtocolAttachment;
import org.kextnet.kernel.net.TxClaim;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.ProtocolFamily;

/**
 * Ethernet II framing and demultiplexing by EtherType ({@code ether_demux}, {@code ether_frameout}). Next hops
 * are resolved to MAC addresses above, by the network layer's resolver (IPv4's ARP), before framing.
 */
public final class EthernetLink implements LinkLayer {
    public static final EthernetLink INSTANCE = new EthernetLink();

    private EthernetLink() {}

    @Override public boolean demuxesIpv4To(DemuxTable demux, ProtocolAttachment inet) {
        return demux.byEtherType(Ethernet.TYPE_IPV4) == inet;
    }

    /** A unicast IPv4 frame for the interface's MAC (broadcasts, multicasts and other types go one by one). */
    @Override public boolean stripIpv4(Interface ifp, Packet m) {
        if (m.length() < Ethernet.HEADER_LEN) return false;
        MemorySegment s = m.headers(); // a whole header is there: unchecked access where allowed (Packet.UNCHECKED)
        long a = m.headerBase();
        if (Ethernet.dst(s, a) != ifp.lladdr() || Ethernet.type(s, a) != Ethernet.TYPE_IPV4) return false;
        m.adj(Ethernet.HEADER_LEN);
        return true;
    }

    @Override public void input(PacketContext ctx, Interface ifp, Packet m) {
        if (m.length() < Ethernet.HEADER_LEN) {
            ctx.stats().inc(Stat.LINK_RUNT);
            m.free();
            return;
        }
        MemorySegment s = m.segment();
        int off = m.offset();
        long dst = Ethernet.dst(s, off);
        if (dst != ifp.lladdr() && (ifp.flags() & IfFlags.PROMISC) == 0) {
            if (dst == Ethernet.BROADCAST) m.addFlags(Packet.F_BROADCAST);
            else if (Ethernet.isMulticast(dst)) m.addFlags(Packet.F_MULTICAST);
            else {
                ctx.stats().inc(Stat.LINK_NOT_FOR_US);
                m.free();
                return;
            }
        }
        int type = Ethernet.type(s, off);
        m.adj(Ethernet.HEADER_LEN);
        // Demux by the attached protocols' EtherTypes; interface filters see every frame, unclaimed ones with PF 0.
        ProtocolAttachment pa = ifp.protocols().byEtherType(type);
        if (!ifp.filters().input(ctx, pa == null ? ProtocolFamily.PF_UNSPEC : pa.protocolFamily(), m, off)) return;
        if (pa == null) {
            ctx.stats().inc(Stat.LINK_UNKNOWN_TYPE);
            m.free();
            return;
        }
        pa.input(ctx, m, off);
    }

    @Override public int frame(PacketContext ctx, Interface ifp, Packet m, FrameInfo frame) {
        if (!prependHeader(ctx, m)) return Errno.ENOBUFS;
        Ethernet.write(m.segment(), m.offset(), frame.linkDestination(), ifp.lladdr(), frame.frameType());
        return 0;
    }

    @Override public boolean resolvesNextHops() { return true; }

    /** Frames {@code m} for MAC {@code dst} and sends it through the interface filters. */
    @Override public void output(PacketContext ctx, Interface ifp, Packet m, long dst, int type) {
        if (!prependHeader(ctx, m)) return;
        Ethernet.write(m.segment(), m.offset(), dst, ifp.lladdr(), type);
        ifp.outputFrame(ctx, m, type == Ethernet.TYPE_IPV4 || type == Ethernet.TYPE_ARP ? ProtocolFamily.PF_INET : ProtocolFamily.PF_UNSPEC);
    }

    /**
     * The run as one vector: the next hop's link address is looked up once per change of next hop, the
     * interface filter head tested once, and a driver that takes runs ({@link BatchDriver}) gets one claim of
     * places for the whole run. Each frame goes to the driver as soon as it is framed and its filters (IP
     * output, interface output) have passed it, so that a filter sees each packet after those before it have
     * left, as in the one-by-one path.
     */
    @Override public void output(PacketContext ctx, Interface ifp, Packet[] packets, int[] nextHops, int from, int to,
                                 PreOutput pre, NextHopResolver resolver) {
        InterfaceFilters filters = ifp.filters();
        boolean filtered = filters.hasOutput();
        Driver driver = ifp.driver();
        // The thread's claim is already open when an extension's callback sent this run from inside another
        // (on a context of its own): then these frames go one by one, into that claim's places if it has some here.
        TxClaim claim = TxClaim.forThisThread();
        BatchDriver batch = driver instanceof BatchDriver b && !claim.isOpen() && b.claim(claim, to - from) > 0 ? b : null;
        long src = ifp.lladdr();
        int sent = 0; // frames sent, and their bytes: counted once at the end
        long bytes = 0;
        int hop = 0;
        long mac = -1;
        try {
            for (int i = from; i < to; i++) {
                Packet m = packets[i];
                packets[i] = null;
                if (pre != null && !pre.pass(ctx, m)) continue;
                int nextHop = nextHops[i];
                if (mac < 0 || nextHop != hop) {
                    mac = resolver.resolve(ctx, ifp, m, nextHop);
                    if (mac < 0) continue; // held by ARP until the reply
                    hop = nextHop;
                }
                if (!prependHeader(ctx, m)) continue;
                Ethernet.write(m.headers(), m.headerBase(), mac, src, Ethernet.TYPE_IPV4); // into the bytes just prepended
                if (filtered && !filters.output(ctx, ProtocolFamily.PF_INET, m)) continue;
                int len = m.length();
                // The claim's places can run out before the run does: a filter's callback sent frames of its own.
                if (batch != null && claim.room() > 0 ? batch.transmitClaimed(ctx, claim, m) : driver.transmit(ctx, m)) {
                    sent++;
                    bytes += len;
                } else {
                    ifp.countTransmitFull(ctx);
                }
            }
        } finally {
            if (batch != null) batch.release(claim);
        }
        if (sent > 0) ifp.counters().output(ctx, sent, bytes);
    }

    /** Makes room for an Ethernet header in front of {@code m}; false if there is none (then counted and freed). */
    private static boolean prependHeader(PacketContext ctx, Packet m) {
        if (m.prepend(Ethernet.HEADER_LEN)) return true;
        ctx.stats().inc(Stat.NO_BUFFERS);
        m.free();
        return false;
    }

    @Override public int headerLength() { return Ethernet.HEADER_LEN; }
}
