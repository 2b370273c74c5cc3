package org.kextnet.kernel.protocol;

import java.util.List;

import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.KernelProtocolHandler;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.protocol.ProtocolHandler;
import org.kextnet.kpi.protocol.ProtocolPlumber;

/**
 * The kernel's own IPv4 plumbing ({@code ether_inet_plumb}, {@code in_dl_plumb}): attaches PF_INET to an
 * Ethernet interface with the IPv4 and ARP EtherTypes, and to TUN and loopback by IP version 4. The
 * attachment's packet path is the kernel's IPv4 input and output; through the KPI it behaves like any
 * protocol handler.
 */
final class InetPlumber implements ProtocolPlumber {
    private final Protocols protocols;
    private final InetHandler handler = new InetHandler();

    InetPlumber(Protocols protocols) {
        this.protocols = protocols;
    }

    @Override public int plumb(Ifnet ifp, int pf) {
        List<DemuxDescriptor> demux = ((Interface) ifp).family() == IfFamily.ETHERNET
                ? List.of(DemuxDescriptor.etherType(Ethernet.TYPE_IPV4), DemuxDescriptor.etherType(Ethernet.TYPE_ARP))
                : List.of(DemuxDescriptor.ipVersion(4));
        try {
            protocols.attach(protocols.kernel().nke().kernelHandle(), ifp, pf, demux, handler, handler);
            return 0;
        } catch (KpiException e) {
            return e.errno();
        }
    }

    /** IPv4 and ARP on one interface. */
    private final class InetHandler implements ProtocolHandler, KernelProtocolHandler {
        @Override public void input(PacketContext ctx, Interface ifp, Packet m, int frameHeader) {
            // ether_inet_input: ARP or IPv4 by the frame's EtherType (tested here, not in a helper: call depth).
            if (frameHeader != m.offset() && ifp.family() == IfFamily.ETHERNET
                    && Ethernet.type(m.segment(), frameHeader) == Ethernet.TYPE_ARP) {
                ifp.arp().input(ctx, m);
            } else {
                ctx.kernel().ipInput().input(ctx, ifp, m);
            }
        }

        @Override public void output(PacketContext ctx, Interface ifp, Packet m, long destination) {
            ifp.link().output(ctx, ifp, m, (int) destination);
        }

        @Override public int input(Ifnet ifp, int pf, Mbuf m, int frameHeader) {
            PacketContext ctx = protocols.kernel().context();
            input(ctx, (Interface) ifp, (Packet) m, frameHeader);
            return 0;
        }

        /** ARP resolution: the frame goes to the neighbour's MAC, or the packet waits for the reply. */
        @Override public int preOutput(Ifnet ifnet, int pf, Mbuf m, FrameInfo frame) {
            Interface ifp = (Interface) ifnet;
            if (ifp.family() != IfFamily.ETHERNET) return 0;
            frame.setFrameType(Ethernet.TYPE_IPV4);
            long mac = ifp.arp().resolve(protocols.kernel().context(), (Packet) m, (int) frame.destination());
            if (mac < 0) return Errno.EJUSTRETURN; // held by ARP until the reply
            frame.setLinkDestination(mac);
            return 0;
        }
    }
}
