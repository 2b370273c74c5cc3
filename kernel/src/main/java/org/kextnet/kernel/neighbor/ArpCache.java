package org.kextnet.kernel.neighbor;

import java.util.List;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Arp;
import org.kextnet.kernel.wire.Ethernet;

/**
 * ARP on one Ethernet interface (RFC 826): resolves IPv4 next hops to MAC addresses through the interface's
 * {@link NeighborCache}, answers requests for the interface's addresses, learns from what neighbours send and
 * announces the interface's addresses (gratuitous ARP). The kernel's IPv4 attachment owns one per Ethernet
 * interface and hands it the ARP frames its demux receives.
 */
public final class ArpCache implements NeighborCache.Protocol {
    public static final int MAX_HOLD = NeighborCache.MAX_HOLD;
    public static final int MAX_TRIES = NeighborCache.MAX_TRIES;
    public static final long RETRY_NANOS = NeighborCache.RETRY_NANOS;
    public static final long REACHABLE_NANOS = NeighborCache.REACHABLE_NANOS;

    private final Interface ifp;
    private final Contexts contexts;
    private final NeighborCache neighbors;

    public ArpCache(Interface ifp, TimerWheel wheel, Contexts contexts) {
        this.ifp = ifp;
        this.contexts = contexts;
        this.neighbors = new NeighborCache(this, wheel, contexts, Stat.ARP_UNRESOLVED, Stat.ARP_QUEUE_FULL);
    }

    /**
     * The MAC address of {@code ip}, or -1 when it is not known yet: then the cache takes {@code m}, holds it
     * until the reply arrives (or drops it and counts why) and sends a request.
     */
    public long resolve(PacketContext ctx, Packet m, int ip) {
        return neighbors.resolve(ctx, m, ip & 0xffffffffL);
    }

    /** A received ARP packet ({@code m} starts at the ARP header). Takes ownership. */
    public void input(PacketContext ctx, Packet m) {
        var s = m.segment();
        int off = m.offset();
        if (Arp.check(s, off, m.length()) != null) {
            ctx.stats().inc(Stat.ARP_MALFORMED);
            m.free();
            return;
        }
        int op = Arp.op(s, off);
        long sha = Arp.senderMac(s, off);
        int spa = Arp.senderIp(s, off);
        int tpa = Arp.targetIp(s, off);
        ctx.stats().inc(op == Arp.OP_REQUEST ? Stat.ARP_RX_REQUEST : Stat.ARP_RX_REPLY);
        if (sha == ifp.lladdr() || Ethernet.isMulticast(sha)) {
            ctx.stats().inc(Stat.ARP_MALFORMED); // our own announcement looped back, or a bogus sender
            m.free();
            return;
        }
        boolean forUs = ifp.hasAddress(tpa);
        // RFC 826: update an existing entry for the sender; create one only when the packet is for us.
        if (spa != 0) neighbors.learn(ctx, spa & 0xffffffffL, sha, forUs);
        if (op == Arp.OP_REQUEST && forUs && spa != tpa) {
            // Turn the request around in place: the reply reuses the buffer.
            Arp.write(s, off, Arp.OP_REPLY, ifp.lladdr(), tpa, sha, spa);
            m.setLength(Arp.LEN);
            ctx.stats().inc(Stat.ARP_TX_REPLY);
            ifp.link().output(ctx, ifp, m, sha, Ethernet.TYPE_ARP);
            return;
        }
        if (!forUs && op == Arp.OP_REQUEST) ctx.stats().inc(Stat.ARP_NOT_FOR_US);
        m.free();
    }

    /** Adds a permanent entry ({@code arp -s}). */
    public void addStatic(int ip, long mac) { neighbors.addStatic(ip & 0xffffffffL, mac); }

    /** Removes the entry for {@code ip}, dropping packets held for it; returns whether there was one. */
    public boolean delete(int ip) { return neighbors.delete(ip & 0xffffffffL); }

    /** Drops every entry (the interface is going away). */
    public void clear() { neighbors.clear(); }

    /** Sends a gratuitous ARP announcing {@code ip} (RFC 5227 announcement form). */
    public void announce(PacketContext ctx, int ip) {
        if (send(ctx, Arp.OP_REQUEST, ip, 0, ip)) ctx.stats().inc(Stat.ARP_TX_GRATUITOUS);
    }

    /** Announces each of the interface's addresses (it came up). */
    public void announceAll() {
        PacketContext ctx = contexts.acquire();
        try {
            for (InterfaceAddress a : ifp.addresses()) announce(ctx, a.address());
        } finally {
            contexts.release(ctx);
        }
    }

    @Override public void solicit(PacketContext ctx, long address) {
        int ip = (int) address;
        int src = ifp.primaryAddress();
        for (var a : ifp.addresses()) if (a.contains(ip)) { src = a.address(); break; }
        if (send(ctx, Arp.OP_REQUEST, src, 0, ip)) ctx.stats().inc(Stat.ARP_TX_REQUEST);
    }

    @Override public void sendHeld(PacketContext ctx, Packet m, long address, long lladdr) {
        ifp.link().output(ctx, ifp, m, lladdr, Ethernet.TYPE_IPV4);
    }

    private boolean send(PacketContext ctx, int op, int spa, long tha, int tpa) {
        Packet m = ctx.alloc();
        if (m == null) {
            ctx.stats().inc(Stat.NO_BUFFERS);
            return false;
        }
        m.setLength(Arp.LEN);
        Arp.write(m.segment(), m.offset(), op, ifp.lladdr(), spa, tha, tpa);
        ifp.link().output(ctx, ifp, m, Ethernet.BROADCAST, Ethernet.TYPE_ARP);
        return true;
    }

    /** One entry as {@code arp -a} shows it. */
    public record Entry(int ip, long mac, String state, long expiresNanos) {}

    /** A snapshot of the entries ({@code arp -a}). */
    public List<Entry> entries() {
        return neighbors.entries().stream().map(e -> new Entry((int) e.address(), e.lladdr(), e.state(), e.expiresNanos())).toList();
    }
}
