package org.kextnet.kernel.link;

import java.lang.foreign.ValueLayout;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.DemuxTable;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.LinkLayer;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.ProtocolAttachment;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.ProtocolFamily;

/**
 * Point-to-point framing for TUN and loopback: there is no link header; the IP version nibble tells the
 * protocol (demux descriptors of type {@code DESC_IP_VERSION}).
 */
public final class RawIpLink implements LinkLayer {
    public static final RawIpLink INSTANCE = new RawIpLink();

    private RawIpLink() {}

    @Override public void input(PacketContext ctx, Interface ifp, Packet m) {
        if (m.length() < 1) {
            ctx.stats().inc(Stat.LINK_RUNT);
            m.free();
            return;
        }
        int version = (m.segment().get(ValueLayout.JAVA_BYTE, m.offset()) & 0xff) >>> 4;
        ProtocolAttachment pa = ifp.protocols().byIpVersion(version);
        int frameHeader = m.offset();
        if (!ifp.filters().input(ctx, pa == null ? ProtocolFamily.PF_UNSPEC : pa.protocolFamily(), m, frameHeader)) return;
        if (pa == null) {
            // IPv6 (router solicitations and the like from Linux) until IPv6 lands, or IPv4 unplumbed.
            ctx.stats().inc(Stat.LINK_UNKNOWN_TYPE);
            m.free();
            return;
        }
        pa.input(ctx, m, frameHeader);
    }

    @Override public boolean demuxesIpv4To(DemuxTable demux, ProtocolAttachment inet) {
        return demux.byIpVersion(4) == inet;
    }

    /** An IPv4 packet: there is no link header to strip. */
    @Override public boolean stripIpv4(Interface ifp, Packet m) {
        return m.length() >= 1 && (m.segment().get(ValueLayout.JAVA_BYTE, m.offset()) & 0xf0) == 0x40;
    }

    @Override public int frame(PacketContext ctx, Interface ifp, Packet m, FrameInfo frame) { return 0; }

    /** There is no link header: the packet goes out as it is, whatever its next hop. */
    @Override public void output(PacketContext ctx, Interface ifp, Packet m, long destination, int type) {
        ifp.outputFrame(ctx, m, ProtocolFamily.PF_INET);
    }

    @Override public int headerLength() { return 0; }
}
