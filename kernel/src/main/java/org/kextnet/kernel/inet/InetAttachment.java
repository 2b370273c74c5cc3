package org.kextnet.kernel.inet;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.neighbor.ArpCache;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.IfFlags;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.NetworkProtocol;
import org.kextnet.kernel.net.Layers.NextHopResolver;
import org.kextnet.kernel.net.Layers.PreOutput;
import org.kextnet.kernel.net.Layers;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.FrameInfo;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.protocol.ProtocolHandler;

/**
 * The kernel's IPv4 on one interface ({@code ether_inet_input}, {@code ether_inet_pre_output},
 * {@code ether_inet_event}): the protocol handler its plumber attaches through the protocol KPI, with ARP on an
 * Ethernet interface. Through the KPI it behaves like any protocol handler; as a {@link NetworkProtocol} it is
 * the link layers' fast path into IPv4 (see {@link org.kextnet.kernel.net.ProtocolAttachment}).
 */
final class InetAttachment implements ProtocolHandler, NetworkProtocol, NextHopResolver {
    private final Interface ifp;
    private final IpInput input;
    private final Contexts contexts;
    /** ARP, on an Ethernet interface; else null. */
    final ArpCache arp;
    /** Whether the interface was up at the last flags event: coming up announces its addresses. */
    private volatile boolean wasUp;

    InetAttachment(Interface ifp, IpInput input, Contexts contexts, ArpCache arp) {
        this.ifp = ifp;
        this.input = input;
        this.contexts = contexts;
        this.arp = arp;
        this.wasUp = ifp.isUp();
    }

    // ---- the packet path (NetworkProtocol) ----

    @Override public void input(PacketContext ctx, Interface ifp, Packet m, int frameHeader) {
        // ARP or IPv4 by the frame's EtherType (tested here, not in a helper: call depth).
        if (arp != null && frameHeader != m.offset() && Ethernet.type(m.segment(), frameHeader) == Ethernet.TYPE_ARP) {
            arp.input(ctx, m);
        } else {
            input.input(ctx, ifp, m);
        }
    }

    @Override public void input(PacketContext ctx, Interface ifp, Packet[] packets, int n) {
        input.input(ctx, ifp, packets, n);
    }

    @Override public boolean takesVectors() { return true; }

    @Override public void output(PacketContext ctx, Interface ifp, Packet m, long nextHop) {
        long dst = nextHop;
        if (ifp.link().resolvesNextHops()) {
            dst = resolve(ctx, ifp, m, (int) nextHop);
            if (dst < 0) return; // held (or dropped) until resolution
        }
        ifp.link().output(ctx, ifp, m, dst, Layers.ETHERTYPE_IPV4);
    }

    @Override public void output(PacketContext ctx, Interface ifp, Packet[] packets, int[] nextHops, int from, int to,
                                 PreOutput pre) {
        ifp.link().output(ctx, ifp, packets, nextHops, from, to, pre, this);
    }

    /**
     * The link address for an IPv4 next hop: broadcast, the multicast group's, or the neighbour's from ARP; -1
     * when ARP holds (or dropped) the packet until resolution.
     */
    @Override public long resolve(PacketContext ctx, Interface ifp, Packet m, int nextHop) {
        if (nextHop == Ipv4.BROADCAST || ifp.isBroadcastFor(nextHop)) return Ethernet.BROADCAST;
        // RFC 1112 6.4: 01:00:5e + low 23 bits of the group.
        if (Ipv4.isMulticast(nextHop)) return 0x01005e000000L | (nextHop & 0x7fffff);
        if (arp == null) return Ethernet.BROADCAST; // an Ethernet-framed link without ARP: nothing better to do
        return arp.resolve(ctx, m, nextHop);
    }

    // ---- the KPI's protocol handler ----

    @Override public int input(Ifnet ifnet, int pf, Mbuf m, int frameHeader) {
        PacketContext ctx = contexts.acquire();
        try {
            input(ctx, (Interface) ifnet, (Packet) m, frameHeader);
        } finally {
            contexts.release(ctx);
        }
        return 0;
    }

    /** ARP resolution: the frame goes to the neighbour's MAC, or the packet waits for the reply. */
    @Override public int preOutput(Ifnet ifnet, int pf, Mbuf m, FrameInfo frame) {
        if (ifp.family() != IfFamily.ETHERNET) return 0;
        frame.setFrameType(Ethernet.TYPE_IPV4);
        PacketContext ctx = contexts.acquire();
        try {
            long mac = resolve(ctx, ifp, (Packet) m, (int) frame.destination());
            if (mac < 0) return Errno.EJUSTRETURN; // held by ARP until the reply
            frame.setLinkDestination(mac);
            return 0;
        } finally {
            contexts.release(ctx);
        }
    }

    /** An interface that comes up announces its addresses with gratuitous ARP. */
    @Override public void event(Ifnet ifnet, int pf, KernelEvent event) {
        if (event.subclass() != KernelEvents.KEV_DL_SUBCLASS || event.code() != KernelEvents.KEV_DL_SIFFLAGS) return;
        boolean up = (ifp.flags() & IfFlags.UP) != 0;
        boolean cameUp = up && !wasUp;
        wasUp = up;
        if (cameUp && arp != null) arp.announceAll();
    }

}
