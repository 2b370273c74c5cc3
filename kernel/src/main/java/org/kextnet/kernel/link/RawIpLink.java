package org.kextnet.kernel.link;

import java.lang.foreign.ValueLayout;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.net.ProtocolFamily;

/**
 * Point-to-point framing for TUN and loopback: there is no link header; the IP version nibble tells the
 * protocol.
 */
public final class RawIpLink implements LinkLayer {
    static final RawIpLink INSTANCE = new RawIpLink();

    private RawIpLink() {}

    @Override public void input(PacketContext ctx, Interface ifp, Mbuf m) {
        if (m.length() < 1) {
            ctx.stats().inc(Stat.LINK_RUNT);
            m.free();
            return;
        }
        int version = (m.segment().get(ValueLayout.JAVA_BYTE, m.offset()) & 0xff) >>> 4;
        int pf = version == 4 ? ProtocolFamily.PF_INET : version == 6 ? ProtocolFamily.PF_INET6 : ProtocolFamily.PF_UNSPEC;
        if (!ifp.filters().input(ctx, pf, m, m.offset())) return;
        if (version == 4) {
            ctx.kernel().ipInput().input(ctx, ifp, m);
        } else {
            // IPv6 (router solicitations and the like from Linux) until IPv6 lands.
            ctx.stats().inc(Stat.LINK_UNKNOWN_TYPE);
            m.free();
        }
    }

    @Override public void output(PacketContext ctx, Interface ifp, Mbuf m, int nextHop) {
        ifp.outputFrame(ctx, m, ProtocolFamily.PF_INET);
    }

    @Override public int headerLength() { return 0; }
}
