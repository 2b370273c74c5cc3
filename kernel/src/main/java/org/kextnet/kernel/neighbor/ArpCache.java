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
import org.kextnet.kernel.wire.Ipv4;

/**
 * ARP on one Ethernet interface (RFC 826): resolves IPv4 next hops to MAC addresses through the interface's
 * {@link NeighborCache}, answers requests for the interface's addresses, learns from what neighbours send and
 * announces the interface's addresses (gratuitous ARP). The kernel's IPv4 attachment owns one per Ethernet
 * interface and hands it the ARP frames its demux receives.
 *
 * <p>What it learns, as Linux does by default: a neighbour only from a sender on one of the interface's subnets,
 * never at our own, a broadcast, a multicast, 0.0.0.0 or a 127/8 address; a request for one of our addresses
 * creates the asker's entry, a reply updates only an entry that exists (an unsolicited reply creates none), and any
 * other packet updates only an existing entry. A packet that claims one of our addresses from another link address
 * is an address conflict (RFC 5227): counted, logged, and neither answered nor learned.
 */
public final class ArpCache implements NeighborCache.Protocol {
    private static final System.Logger LOG = System.getLogger("kextnet.arp");
    /** Conflicts are logged at most this often per interface, so a flood of them cannot flood the log. */
    private static final long CONFLICT_LOG_NANOS = 10_000_000_000L;
    public static final int MAX_HOLD = NeighborCache.MAX_HOLD;
    public static final int MAX_TRIES = NeighborCache.MAX_TRIES;
    public static final long RETRY_NANOS = NeighborCache.RETRY_NANOS;
    public static final long REACHABLE_NANOS = NeighborCache.REACHABLE_NANOS;

    private final Interface ifp;
    private final Contexts contexts;
    private final NeighborCache neighbors;
    private final TimerWheel wheel;
    private volatile long lastConflictLogged = Long.MIN_VALUE;

    public ArpCache(Interface ifp, TimerWheel wheel, Contexts contexts) {
        this.ifp = ifp;
        this.contexts = contexts;
        this.wheel = wheel;
        this.neighbors = new NeighborCache(this, wheel, contexts, Stat.ARP_UNRESOLVED, Stat.ARP_QUEUE_FULL,
                Stat.ARP_TABLE_FULL, Stat.ARP_COLLECTED);
    }

    /** The neighbours learned so far, for tests and status. */
    public int size() { return neighbors.size(); }

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
        if (spa != 0 && ifp.hasAddress(spa)) {
            conflict(ctx, spa, sha);
            m.free();
            return;
        }
        boolean forUs = ifp.hasAddress(tpa);
        if (spa != 0) {
            if (!onOurSubnets(spa)) {
                ctx.stats().inc(Stat.ARP_BOGUS_SENDER);
                m.free();
                return;
            }
            long sender = spa & 0xffffffffL;
            if (op == Arp.OP_REPLY) {
                // A reply updates what exists (the entry we asked with, or one we know): never creates.
                if (!neighbors.learn(ctx, sender, sha, false)) ctx.stats().inc(Stat.ARP_UNSOLICITED);
            } else {
                // RFC 826: update an existing entry for the sender; create one only when the request is for us.
                neighbors.learn(ctx, sender, sha, forUs);
            }
        }
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

    /**
     * Whether {@code ip} may be a neighbour on this interface: on one of its subnets, and neither a broadcast,
     * a multicast nor a loopback address.
     */
    private boolean onOurSubnets(int ip) {
        if (Ipv4.isMulticast(ip) || ip == Ipv4.BROADCAST || (ip >>> 24) == 127 || ifp.isBroadcastFor(ip)) return false;
        for (InterfaceAddress a : ifp.addresses()) {
            if (a.contains(ip) && (a.prefixLength() >= 31 || a.network() != ip)) return true;
        }
        return false;
    }

    /** Somebody else claims one of our addresses (RFC 5227 2.4): counted, and logged now and then. */
    private void conflict(PacketContext ctx, int ip, long mac) {
        ctx.stats().inc(Stat.ARP_CONFLICT);
        long now = wheel.clock().nanoTime();
        long last = lastConflictLogged;
        if (last != Long.MIN_VALUE && now - last < CONFLICT_LOG_NANOS) return;
        lastConflictLogged = now;
        LOG.log(System.Logger.Level.WARNING, ifp.name() + ": address conflict: " + Ipv4.format(ip) + " is ours, but "
                + Ethernet.format(mac) + " claims it (RFC 5227)");
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
