package org.kextnet.kernel.inet;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.Heads;
import org.kextnet.kernel.neighbor.ArpCache;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.Interfaces;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.protocol.ProtocolKpi;
import org.kextnet.kpi.protocol.ProtocolPlumber;

/**
 * IPv4 for one kernel, wired together: its configuration ({@link InetConfig}), IP filter head, protocol switch,
 * input, output, reassembly and ICMP. The kernel builds one and registers {@link #plumber} for the interface
 * families IPv4 runs on; transport protocols register in {@link #protocols()}.
 */
public final class Ipv4Layer implements Interfaces.Observer {
    private final InetConfig config;
    private final IpFilters filters;
    private final ProtocolSwitch protocols = new ProtocolSwitch();
    private final IpOutput output;
    private final IcmpLayer icmp;
    private final Reassembly reassembly;
    private final IpInput input;
    private final Contexts contexts;
    private final TimerWheel wheel;
    /** The ARP cache of each Ethernet interface: made when IPv4 first plumbs it, kept until the interface goes. */
    private final Map<Interface, ArpCache> arpCaches = new ConcurrentHashMap<>();

    public Ipv4Layer(Interfaces interfaces, Heads heads, Buffers buffers, TimerWheel wheel) {
        this.contexts = interfaces.contexts();
        this.wheel = wheel;
        this.config = new InetConfig(interfaces);
        this.filters = new IpFilters(heads);
        this.output = new IpOutput(config, filters, buffers);
        this.icmp = new IcmpLayer(config, protocols, output, buffers, wheel.clock());
        output.setIcmp(icmp);
        this.reassembly = new Reassembly(buffers, wheel, contexts, icmp);
        this.input = new IpInput(config, filters, protocols, output, reassembly, icmp);
        protocols.register(Ipv4.PROTO_ICMP, icmp);
        interfaces.observe(config);
        interfaces.observe(this);
    }

    public InetConfig config() { return config; }
    public IpFilters filters() { return filters; }
    public ProtocolSwitch protocols() { return protocols; }
    public IpInput input() { return input; }
    public IpOutput output() { return output; }
    public IcmpLayer icmp() { return icmp; }
    public Reassembly reassembly() { return reassembly; }

    /**
     * The plumber of IPv4 ({@code ether_inet_plumb}, {@code in_dl_plumb}): attaches PF_INET through {@code kpi} to
     * an Ethernet interface with the IPv4 and ARP EtherTypes, and to a raw IP link by IP version 4.
     */
    public ProtocolPlumber plumber(ProtocolKpi kpi) {
        return (ifnet, pf) -> {
            Interface ifp = (Interface) ifnet;
            boolean ethernet = ifp.family() == IfFamily.ETHERNET;
            List<DemuxDescriptor> demux = ethernet
                    ? List.of(DemuxDescriptor.etherType(Ethernet.TYPE_IPV4), DemuxDescriptor.etherType(Ethernet.TYPE_ARP))
                    : List.of(DemuxDescriptor.ipVersion(4));
            ArpCache arp = ethernet ? arpCaches.computeIfAbsent(ifp, i -> new ArpCache(i, wheel, contexts)) : null;
            try {
                kpi.attachProtocol(ifnet, pf, demux, new InetAttachment(ifp, input, contexts, arp));
                return 0;
            } catch (KpiException e) {
                return e.errno();
            }
        };
    }

    /**
     * Assigns an address to {@code ifp} with its connected route ({@link InetConfig#addAddress}); an Ethernet
     * interface that is up announces it with a gratuitous ARP.
     */
    public void addAddress(Interface ifp, InterfaceAddress a) {
        config.addAddress(ifp, a);
        ArpCache arp = arp(ifp);
        if (arp != null && ifp.isUp()) {
            PacketContext ctx = contexts.acquire();
            try {
                arp.announce(ctx, a.address());
            } finally {
                contexts.release(ctx);
            }
        }
    }

    /** The ARP cache of an Ethernet interface IPv4 was plumbed on, or null. */
    public ArpCache arp(Ifnet ifp) {
        return arpCaches.get(ifp);
    }

    /** The interface is going away: so do its neighbours, and the packets waiting for them. */
    @Override public void detaching(Interface ifp) {
        ArpCache arp = arpCaches.remove(ifp);
        if (arp != null) arp.clear();
    }

    /** {@code proto_input} for PF_INET: a packet from its IP header, received on its {@code rcvif}. */
    public void protoInput(Packet m) {
        PacketContext ctx = contexts.acquire();
        try {
            input.input(ctx, (Interface) m.rcvif(), m);
        } finally {
            contexts.release(ctx);
        }
    }
}
