package org.kextnet.kernel.inet;

import java.lang.foreign.MemorySegment;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.Timeout;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Icmp;
import org.kextnet.kernel.wire.Ipv4;

/**
 * IPv4 fragment reassembly (RFC 791, RFC 815) with bounded memory and a timeout.
 *
 * <p>Datagrams are keyed by (source, destination, protocol, id). At most {@link #MAX_QUEUES} are in
 * progress and at most {@link #MAX_BYTES} of fragments are held; past either limit the oldest datagram
 * is dropped. An exact duplicate fragment is dropped alone; a fragment that overlaps another with different
 * bounds drops the whole datagram (as Linux since CVE-2018-5391 and RFC 5722 for IPv6), which closes
 * the overlapping-fragment attacks. A datagram that would exceed 65535 bytes is dropped.
 */
public final class Reassembly {
    public static final int MAX_QUEUES = 64;
    public static final int MAX_BYTES = 4 << 20;
    public static final long TIMEOUT_NANOS = 30_000_000_000L;

    private static final class Queue {
        boolean used;
        int src, dst, id, protocol;
        long expires;
        long started;
        Packet fragments;      // sorted by offset, linked through nextPkt
        int count;
        int received;        // payload bytes held
        int end = -1;        // payload length, once the last fragment arrived
        int held;            // buffer bytes held
    }

    private final Buffers buffers;
    private final TimerWheel wheel;
    private final Contexts contexts;
    private final IcmpLayer icmp;
    private final Queue[] queues = new Queue[MAX_QUEUES];
    private int heldBytes;
    /** Runs {@link #tick} when the earliest datagram in progress is due. */
    private final Timeout sweep;

    public Reassembly(Buffers buffers, TimerWheel wheel, Contexts contexts, IcmpLayer icmp) {
        this.buffers = buffers;
        this.wheel = wheel;
        this.contexts = contexts;
        this.icmp = icmp;
        this.sweep = new Timeout((t, now) -> {
            PacketContext ctx = contexts.acquire();
            try {
                tick(ctx, now);
            } finally {
                contexts.release(ctx);
            }
        });
        for (int i = 0; i < MAX_QUEUES; i++) queues[i] = new Queue();
    }

    /** The fragment's offset in its datagram's payload, from its own header (queued fragments keep theirs). */
    private static int offsetOf(Packet f) { return Ipv4.fragmentOffsetBytes(f.segment(), f.offset()); }

    /** The fragment's payload bytes, from its own header. */
    private static int lengthOf(Packet f) {
        MemorySegment s = f.segment();
        return Ipv4.totalLength(s, f.offset()) - Ipv4.headerLength(s, f.offset());
    }

    /**
     * Adds a fragment. Takes ownership. Returns the whole datagram when this fragment completes it (a new,
     * contiguous buffer), else null.
     */
    public Packet insert(PacketContext ctx, Packet m) {
        ctx.stats().inc(Stat.IP_FRAGMENTS);
        MemorySegment s = m.segment();
        int off = m.offset();
        int hl = Ipv4.headerLength(s, off);
        int dataLen = Ipv4.totalLength(s, off) - hl;
        int fo = Ipv4.fragmentOffsetBytes(s, off);
        boolean more = Ipv4.moreFragments(s, off);
        if (dataLen <= 0 || (more && (dataLen & 7) != 0) || fo + dataLen + hl > Ipv4.MAX_PACKET) {
            ctx.stats().inc(Stat.IP_FRAG_DROPPED);
            m.free();
            return null;
        }
        Packet dropped = null;
        Packet done = null;
        int payload = 0;
        synchronized (this) {
            long now = wheel.clock().nanoTime();
            Queue q = find(Ipv4.src(s, off), Ipv4.dst(s, off), Ipv4.protocol(s, off), Ipv4.id(s, off));
            if (q == null) {
                q = freeSlot();
                if (q == null) { // all slots busy: the oldest datagram makes room
                    q = oldest(null);
                    ctx.stats().add(Stat.IP_FRAG_DROPPED, q.count);
                    dropped = release(q);
                }
                q.used = true;
                q.src = Ipv4.src(s, off); q.dst = Ipv4.dst(s, off);
                q.protocol = Ipv4.protocol(s, off); q.id = Ipv4.id(s, off);
                q.started = now;
                q.expires = now + TIMEOUT_NANOS;
                if (!sweep.isScheduled()) wheel.schedule(sweep, q.expires);
            }
            int result = add(q, m, fo, dataLen, more);
            if (result == DUPLICATE) {
                ctx.stats().inc(Stat.IP_FRAG_DROPPED);
                m.free();
            } else if (result == INVALID) {
                ctx.stats().inc(Stat.IP_FRAG_DROPPED);
                m.free();
                ctx.stats().add(Stat.IP_FRAG_DROPPED, q.count);
                dropped = append(dropped, release(q));
            } else {
                while (heldBytes > MAX_BYTES) {
                    // Older datagrams go first; one that is over the limit by itself goes too.
                    Queue victim = oldest(q);
                    if (victim == null) victim = q;
                    ctx.stats().add(Stat.IP_FRAG_DROPPED, victim.count);
                    dropped = append(dropped, release(victim));
                }
                if (q.used && q.end >= 0 && q.received == q.end) {
                    payload = q.end;
                    done = release(q);
                }
            }
        }
        freeChain(dropped);
        return done == null ? null : assemble(ctx, done, payload);
    }

    private static final int ADDED = 0, DUPLICATE = 1, INVALID = 2;

    private int add(Queue q, Packet m, int fo, int len, boolean more) {
        int fend = fo + len;
        if (!more) {
            if (q.end >= 0 && q.end != fend) return INVALID;
            for (Packet f = q.fragments; f != null; f = f.nextPkt) if (offsetOf(f) + lengthOf(f) > fend) return INVALID;
        } else if (q.end >= 0 && fend > q.end) {
            return INVALID;
        }
        Packet prev = null, cur = q.fragments;
        while (cur != null && offsetOf(cur) < fo) { prev = cur; cur = cur.nextPkt; }
        if (cur != null && offsetOf(cur) == fo && lengthOf(cur) == len) return DUPLICATE;
        if (prev != null && offsetOf(prev) + lengthOf(prev) > fo) return INVALID;
        if (cur != null && fend > offsetOf(cur)) return INVALID;
        m.nextPkt = cur;
        if (prev == null) q.fragments = m; else prev.nextPkt = m;
        q.count++;
        q.received += len;
        q.held += m.capacity();
        heldBytes += m.capacity();
        if (!more) q.end = fend;
        return ADDED;
    }

    /** Builds the datagram from a complete, sorted fragment list; frees the fragments. */
    private Packet assemble(PacketContext ctx, Packet frags, int payload) {
        MemorySegment fs = frags.segment();
        int hl = Ipv4.headerLength(fs, frags.offset());
        Packet m = buffers.alloc(hl + payload);
        if (m == null) {
            ctx.stats().inc(Stat.NO_BUFFERS);
            freeChain(frags);
            return null;
        }
        m.setLength(hl + payload);
        MemorySegment s = m.segment();
        int off = m.offset();
        MemorySegment.copy(fs, frags.offset(), s, off, hl);
        for (Packet f = frags; f != null; f = f.nextPkt) {
            int fhl = Ipv4.headerLength(f.segment(), f.offset());
            MemorySegment.copy(f.segment(), f.offset() + fhl, s, off + hl + offsetOf(f), lengthOf(f));
        }
        m.setRcvif(frags.rcvif());
        m.setFlags(frags.flags());
        Ipv4.setTotalLength(s, off, hl + payload);
        Ipv4.setFrag(s, off, 0);
        Ipv4.fillChecksum(s, off);
        freeChain(frags);
        ctx.stats().inc(Stat.IP_REASSEMBLED);
        return m;
    }

    /** Drops datagrams whose time is up; sends time exceeded when the first fragment had arrived (RFC 792). */
    public void tick(PacketContext ctx, long now) {
        Packet expired = null;
        Packet firsts = null; // first fragments of expired datagrams, linked through nextPkt
        synchronized (this) {
            for (Queue q : queues) {
                if (q.used && q.expires - now <= 0) {
                    ctx.stats().add(Stat.IP_FRAG_TIMEOUT, q.count);
                    Packet chain = release(q);
                    if (chain != null && offsetOf(chain) == 0) {
                        // first fragment present: it carries the header to quote
                        Packet first = chain;
                        chain = chain.nextPkt;
                        first.nextPkt = firsts;
                        firsts = first;
                    }
                    expired = append(expired, chain);
                }
            }
        }
        Queue next = null; // the next datagram due, if any: the sweep runs again then
        synchronized (this) {
            for (Queue q : queues) if (q.used && (next == null || q.expires - next.expires < 0)) next = q;
            if (next != null) wheel.schedule(sweep, next.expires);
        }
        freeChain(expired);
        // Outside the lock: sending runs the output path, and with it IP filters (extension code).
        while (firsts != null) {
            Packet first = firsts;
            firsts = first.nextPkt;
            first.nextPkt = null;
            icmp.error(ctx, first, Icmp.TIME_EXCEEDED, Icmp.TIMX_REASS, 0);
            first.free();
        }
    }

    /** Datagrams in progress. */
    public synchronized int inProgress() {
        int n = 0;
        for (Queue q : queues) if (q.used) n++;
        return n;
    }

    /** Bytes of buffers held by fragments waiting. */
    public synchronized int heldBytes() { return heldBytes; }

    private Queue find(int src, int dst, int protocol, int id) {
        for (Queue q : queues) {
            if (q.used && q.id == id && q.src == src && q.dst == dst && q.protocol == protocol) return q;
        }
        return null;
    }

    private Queue freeSlot() {
        for (Queue q : queues) if (!q.used) return q;
        return null;
    }

    private Queue oldest(Queue except) {
        Queue o = null;
        for (Queue q : queues) {
            if (q.used && q != except && (o == null || q.started - o.started < 0)) o = q;
        }
        return o;
    }

    /** Frees a queue slot; returns its fragments for the caller to free outside the lock. */
    private Packet release(Queue q) {
        Packet f = q.fragments;
        heldBytes -= q.held;
        q.used = false;
        q.fragments = null;
        q.count = q.received = q.held = 0;
        q.end = -1;
        return f;
    }

    private static Packet append(Packet a, Packet b) {
        if (a == null) return b;
        if (b == null) return a;
        Packet t = a;
        while (t.nextPkt != null) t = t.nextPkt;
        t.nextPkt = b;
        return a;
    }

    private static void freeChain(Packet m) {
        while (m != null) {
            Packet n = m.nextPkt;
            m.nextPkt = null;
            m.free();
            m = n;
        }
    }
}
