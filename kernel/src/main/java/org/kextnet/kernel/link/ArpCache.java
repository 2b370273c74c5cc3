package org.kextnet.kernel.link;

import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Arp;
import org.kextnet.kernel.wire.Ethernet;

/**
 * The ARP cache of one Ethernet interface (RFC 826): resolves IPv4 next hops to MAC addresses, answers
 * requests for the interface's addresses, holds a bounded queue of packets per unresolved neighbour and
 * times entries out.
 *
 * <p>Lookups on the packet path take no lock: the table is an immutable array replaced on insert and
 * removal, and an entry's address and state are volatile. Everything else happens under the cache's lock,
 * and packets are sent only after it is released.
 */
public final class ArpCache {
    /** Packets held per unresolved neighbour; more are dropped and counted. */
    public static final int MAX_HOLD = 16;
    /** Requests sent for one neighbour before its held packets are dropped. */
    public static final int MAX_TRIES = 3;
    public static final long RETRY_NANOS = 1_000_000_000L;
    /** How long a learned entry stays valid (BSD's 20 minutes). */
    public static final long REACHABLE_NANOS = 20 * 60 * 1_000_000_000L;

    enum State { INCOMPLETE, REACHABLE, STATIC }

    /** One neighbour. */
    public static final class Entry {
        final int ip;
        volatile long mac;
        volatile State state;
        volatile long expires;
        Packet holdHead, holdTail;
        int held;
        int tries;

        Entry(int ip) { this.ip = ip; this.state = State.INCOMPLETE; }

        public int ip() { return ip; }
        public long mac() { return mac; }
        public String state() { return state.name().toLowerCase(); }
        public long expiresNanos() { return expires; }
    }

    private final Kernel kernel;
    private final Interface ifp;
    private volatile Entry[] entries = new Entry[0];
    private volatile Entry last;

    public ArpCache(Kernel kernel, Interface ifp) {
        this.kernel = kernel;
        this.ifp = ifp;
    }

    private Entry lookup(int ip) {
        Entry l = last;
        if (l != null && l.ip == ip) return l;
        for (Entry e : entries) {
            if (e.ip == ip) {
                last = e;
                return e;
            }
        }
        return null;
    }

    /**
     * The MAC address of {@code ip}, or -1 when it is not known yet: then the cache takes {@code m}, holds it
     * until the reply arrives (or drops it and counts why) and sends a request.
     */
    public long resolve(PacketContext ctx, Packet m, int ip) {
        Entry e = lookup(ip);
        if (e != null) {
            State st = e.state;
            if (st == State.STATIC || (st == State.REACHABLE && e.expires - kernel.nanoTime() > 0)) return e.mac;
        }
        boolean sendRequest = false;
        synchronized (this) {
            e = lookup(ip);
            if (e == null) {
                e = new Entry(ip);
                insert(e);
                sendRequest = true;
            } else if (e.state != State.INCOMPLETE) {
                if (e.state == State.STATIC || e.expires - kernel.nanoTime() > 0) return e.mac;
                e.state = State.INCOMPLETE; // expired: resolve again, keep the entry
                e.tries = 0;
                sendRequest = true;
            }
            if (e.held >= MAX_HOLD) {
                ctx.stats().inc(Stat.ARP_QUEUE_FULL);
                m.free();
            } else {
                m.nextPkt = null;
                if (e.holdTail == null) e.holdHead = m; else e.holdTail.nextPkt = m;
                e.holdTail = m;
                e.held++;
            }
            if (sendRequest) {
                e.tries = 1;
                e.expires = kernel.nanoTime() + RETRY_NANOS;
            }
        }
        if (sendRequest) request(ctx, ip);
        return -1;
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
        if (spa != 0) learn(ctx, spa, sha, forUs);
        if (op == Arp.OP_REQUEST && forUs && spa != tpa) {
            // Turn the request around in place: the reply reuses the buffer.
            Arp.write(s, off, Arp.OP_REPLY, ifp.lladdr(), tpa, sha, spa);
            m.setLength(Arp.LEN);
            ctx.stats().inc(Stat.ARP_TX_REPLY);
            EthernetLink.send(ctx, ifp, m, sha, Ethernet.TYPE_ARP);
            return;
        }
        if (!forUs && op == Arp.OP_REQUEST) ctx.stats().inc(Stat.ARP_NOT_FOR_US);
        m.free();
    }

    private void learn(PacketContext ctx, int ip, long mac, boolean create) {
        Packet held = null;
        synchronized (this) {
            Entry e = lookup(ip);
            if (e == null) {
                if (!create) return;
                e = new Entry(ip);
                insert(e);
            }
            if (e.state == State.STATIC) return;
            e.mac = mac;
            e.expires = kernel.nanoTime() + REACHABLE_NANOS;
            e.state = State.REACHABLE;
            held = e.holdHead;
            e.holdHead = e.holdTail = null;
            e.held = 0;
        }
        while (held != null) {
            Packet n = held.nextPkt;
            held.nextPkt = null;
            EthernetLink.send(ctx, ifp, held, mac, Ethernet.TYPE_IPV4);
            held = n;
        }
    }

    /** Adds a permanent entry ({@code arp -s}). */
    public void addStatic(int ip, long mac) {
        Packet held;
        synchronized (this) {
            Entry e = lookup(ip);
            if (e == null) {
                e = new Entry(ip);
                insert(e);
            }
            e.mac = mac;
            e.state = State.STATIC;
            held = e.holdHead;
            e.holdHead = e.holdTail = null;
            e.held = 0;
        }
        PacketContext ctx = kernel.context();
        while (held != null) {
            Packet n = held.nextPkt;
            held.nextPkt = null;
            EthernetLink.send(ctx, ifp, held, mac, Ethernet.TYPE_IPV4);
            held = n;
        }
    }

    /** Removes the entry for {@code ip}, dropping packets held for it; returns whether there was one. */
    public boolean delete(int ip) {
        Packet held;
        synchronized (this) {
            Entry e = lookup(ip);
            if (e == null) return false;
            remove(e);
            held = e.holdHead;
            e.holdHead = e.holdTail = null;
        }
        dropHeld(kernel.context(), held);
        return true;
    }

    /** Periodic work: retries requests, drops what stayed unresolved, expires old entries. */
    public void tick(PacketContext ctx, long now) {
        List<Integer> retry = null;
        Packet dropped = null;
        synchronized (this) {
            for (Entry e : entries) {
                if (e.state == State.STATIC || e.expires - now > 0) continue;
                if (e.state == State.INCOMPLETE && e.tries < MAX_TRIES) {
                    e.tries++;
                    e.expires = now + RETRY_NANOS;
                    if (retry == null) retry = new ArrayList<>();
                    retry.add(e.ip);
                } else {
                    remove(e);
                    if (e.holdTail != null) {
                        e.holdTail.nextPkt = dropped;
                        dropped = e.holdHead;
                    }
                    e.holdHead = e.holdTail = null;
                }
            }
        }
        dropHeld(ctx, dropped);
        if (retry != null) for (int ip : retry) request(ctx, ip);
    }

    private static void dropHeld(PacketContext ctx, Packet m) {
        while (m != null) {
            Packet n = m.nextPkt;
            m.nextPkt = null;
            ctx.stats().inc(Stat.ARP_UNRESOLVED);
            m.free();
            m = n;
        }
    }

    /** Sends a gratuitous ARP announcing {@code ip} (RFC 5227 announcement form). */
    public void announce(PacketContext ctx, int ip) {
        if (send(ctx, Arp.OP_REQUEST, ip, 0, ip)) ctx.stats().inc(Stat.ARP_TX_GRATUITOUS);
    }

    private void request(PacketContext ctx, int ip) {
        int src = ifp.primaryAddress();
        for (var a : ifp.addresses()) if (a.contains(ip)) { src = a.address(); break; }
        if (send(ctx, Arp.OP_REQUEST, src, 0, ip)) ctx.stats().inc(Stat.ARP_TX_REQUEST);
    }

    private boolean send(PacketContext ctx, int op, int spa, long tha, int tpa) {
        Packet m = kernel.buffers().alloc();
        if (m == null) {
            ctx.stats().inc(Stat.NO_BUFFERS);
            return false;
        }
        m.setLength(Arp.LEN);
        Arp.write(m.segment(), m.offset(), op, ifp.lladdr(), spa, tha, tpa);
        EthernetLink.send(ctx, ifp, m, Ethernet.BROADCAST, Ethernet.TYPE_ARP);
        return true;
    }

    /** A snapshot of the entries ({@code arp -a}). */
    public List<Entry> entries() { return List.of(entries); }

    private void insert(Entry e) {
        Entry[] old = entries;
        Entry[] n = java.util.Arrays.copyOf(old, old.length + 1);
        n[old.length] = e;
        entries = n;
    }

    private void remove(Entry e) {
        Entry[] old = entries;
        int i = 0;
        while (i < old.length && old[i] != e) i++;
        if (i == old.length) return;
        Entry[] n = new Entry[old.length - 1];
        System.arraycopy(old, 0, n, 0, i);
        System.arraycopy(old, i + 1, n, i, old.length - i - 1);
        entries = n;
        if (last == e) last = null;
    }
}
