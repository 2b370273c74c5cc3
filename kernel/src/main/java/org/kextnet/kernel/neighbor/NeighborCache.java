package org.kextnet.kernel.neighbor;

import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.Timeout;
import org.kextnet.kernel.sync.TimerWheel;

/**
 * The neighbours of one interface: network addresses resolved to link addresses, with the packets waiting for
 * a resolution. Address resolution protocols fill it: ARP for IPv4 now ({@link ArpCache}), IPv6's neighbour
 * discovery later. The cache owns the state machine (incomplete, reachable, static), the bounded hold queue per
 * unresolved neighbour, and the timers: each entry has one {@link Timeout} on the kernel's wheel, for its next
 * solicitation while incomplete and for its expiry once reachable.
 *
 * <p>The table is bounded as Linux's neighbour tables are ({@code gc_thresh1..3}): below {@link #GC_THRESH1}
 * entries nothing is collected; above {@link #GC_THRESH2}, a new entry first collects those unused for
 * {@link #STALE_NANOS}; at {@link #GC_THRESH3} it collects the least recently used that are not static, and when
 * none can go the new neighbour is refused and counted. At most {@link #MAX_UNRESOLVED} entries wait for an answer,
 * and at most {@link #MAX_HELD} packets wait in all. So a flood of senders keeps the table's memory and the cost of a
 * lookup flat.
 *
 * <p>Lookups on the packet path take no lock: the table is an immutable open-addressing snapshot, replaced on
 * insert and removal; an entry's link address and state are volatile. Everything else happens under the
 * cache's lock, and packets are sent, and solicitations made, only after it is released.
 */
public final class NeighborCache {
    /** Packets held per unresolved neighbour; more are dropped and counted. */
    public static final int MAX_HOLD = 16;
    /** Solicitations sent for one neighbour before its held packets are dropped. */
    public static final int MAX_TRIES = 3;
    public static final long RETRY_NANOS = 1_000_000_000L;
    /** How long a learned entry stays valid (BSD's 20 minutes). */
    public static final long REACHABLE_NANOS = 20 * 60 * 1_000_000_000L;
    /** Entries below which nothing is collected, above which unused ones are, and the most there may be. */
    public static final int GC_THRESH1 = 128, GC_THRESH2 = 512, GC_THRESH3 = 1024;
    /** An entry unused for this long may be collected once the table is above {@link #GC_THRESH2}. */
    public static final long STALE_NANOS = 60 * 1_000_000_000L;
    /** Entries waiting for an answer at once, and packets waiting for them in all. */
    public static final int MAX_UNRESOLVED = 256, MAX_HELD = 1024;

    /** What the cache asks of the resolution protocol. */
    public interface Protocol {
        /** Sends a solicitation (an ARP request) for {@code address}. */
        void solicit(PacketContext ctx, long address);

        /** Sends a held packet, now that {@code address} resolved to {@code lladdr}. Takes ownership. */
        void sendHeld(PacketContext ctx, Packet m, long address, long lladdr);
    }

    enum State { INCOMPLETE, REACHABLE, STATIC }

    /** One neighbour. */
    public final class Entry {
        final long address;
        volatile long lladdr;
        volatile State state = State.INCOMPLETE;
        volatile long expires;
        /** When the entry last resolved a packet, or was made or confirmed: collection takes the oldest first. */
        volatile long used;
        Packet holdHead, holdTail;
        int held;
        int tries;
        final Timeout timer = new Timeout((t, now) -> expired(this, now));

        Entry(long address) { this.address = address; }

        public long address() { return address; }
        public long lladdr() { return lladdr; }
        public String state() { return state.name().toLowerCase(); }
        public long expiresNanos() { return expires; }
    }

    private final Protocol protocol;
    private final TimerWheel wheel;
    private final Contexts contexts;
    private final Stat unresolved, queueFull, tableFull, collected;
    private volatile Table table = Table.EMPTY;
    /** Entries waiting for an answer, and the packets they hold; under the cache's lock. */
    private int incomplete, heldTotal;

    /**
     * @param unresolved the counter a packet dropped for a neighbour that never answered is charged to
     * @param queueFull  the counter a packet dropped because the hold queues were full is charged to
     * @param tableFull  the counter a neighbour refused for want of room is charged to
     * @param collected  the counter of entries collected to make room
     */
    public NeighborCache(Protocol protocol, TimerWheel wheel, Contexts contexts, Stat unresolved, Stat queueFull,
                         Stat tableFull, Stat collected) {
        this.protocol = protocol;
        this.wheel = wheel;
        this.contexts = contexts;
        this.unresolved = unresolved;
        this.queueFull = queueFull;
        this.tableFull = tableFull;
        this.collected = collected;
    }

    private long now() { return wheel.clock().nanoTime(); }

    /**
     * The link address of {@code address}, or -1 when it is not known yet: then the cache takes {@code m}, holds
     * it until the neighbour answers (or drops it and counts why) and solicits.
     */
    public long resolve(PacketContext ctx, Packet m, long address) {
        Entry e = table.get(address);
        if (e != null) {
            State st = e.state;
            if (st == State.STATIC) return e.lladdr;
            long now = now();
            if (st == State.REACHABLE && e.expires - now > 0) {
                if (now - e.used > 1_000_000_000L) e.used = now; // a second's precision is enough for collection
                return e.lladdr;
            }
        }
        boolean solicit = false;
        synchronized (this) {
            e = table.get(address);
            if (e == null) {
                if (incomplete >= MAX_UNRESOLVED || !makeRoom(ctx)) {
                    ctx.stats().inc(incomplete >= MAX_UNRESOLVED ? queueFull : tableFull);
                    m.free();
                    return -1;
                }
                e = new Entry(address);
                e.used = now();
                insert(e);
                incomplete++;
                solicit = true;
            } else if (e.state != State.INCOMPLETE) {
                if (e.state == State.STATIC || e.expires - now() > 0) return e.lladdr;
                e.state = State.INCOMPLETE; // expired: resolve again, keep the entry
                incomplete++;
                e.tries = 0;
                solicit = true;
            }
            if (e.held >= MAX_HOLD || heldTotal >= MAX_HELD) {
                ctx.stats().inc(queueFull);
                m.free();
            } else {
                m.nextPkt = null;
                if (e.holdTail == null) e.holdHead = m; else e.holdTail.nextPkt = m;
                e.holdTail = m;
                e.held++;
                heldTotal++;
            }
            if (solicit) {
                e.tries = 1;
                arm(e, now() + RETRY_NANOS);
            }
        }
        if (solicit) protocol.solicit(ctx, address);
        return -1;
    }

    /** Whether there is an entry for {@code address} (of any state). */
    public boolean has(long address) { return table.get(address) != null; }

    /** Whether there is an entry for {@code address} waiting for an answer. */
    public boolean isIncomplete(long address) {
        Entry e = table.get(address);
        return e != null && e.state == State.INCOMPLETE;
    }

    /** How many entries there are. */
    public int size() { return table.size(); }

    /**
     * The neighbour answered (or spoke): records its link address, creating the entry only if {@code create},
     * and sends what was held for it. A static entry stays as it is.
     * @return false if the entry did not exist and could not be made (not asked to, or no room)
     */
    public boolean learn(PacketContext ctx, long address, long lladdr, boolean create) {
        Packet held;
        synchronized (this) {
            Entry e = table.get(address);
            if (e == null) {
                if (!create) return false;
                if (!makeRoom(ctx)) {
                    ctx.stats().inc(tableFull);
                    return false;
                }
                e = new Entry(address);
                insert(e);
            }
            if (e.state == State.STATIC) return true;
            if (e.state == State.INCOMPLETE) incomplete--;
            e.lladdr = lladdr;
            e.state = State.REACHABLE;
            e.used = now();
            arm(e, now() + REACHABLE_NANOS);
            held = takeHeld(e);
        }
        sendHeld(ctx, held, address, lladdr);
        return true;
    }

    /** Adds a permanent entry ({@code arp -s}), sending what was held for it. */
    public void addStatic(long address, long lladdr) {
        Packet held;
        synchronized (this) {
            Entry e = table.get(address);
            if (e == null) {
                e = new Entry(address);
                insert(e);
            }
            if (e.state == State.INCOMPLETE) incomplete--;
            e.lladdr = lladdr;
            e.state = State.STATIC;
            wheel.cancel(e.timer);
            held = takeHeld(e);
        }
        if (held != null) {
            PacketContext ctx = contexts.acquire();
            try {
                sendHeld(ctx, held, address, lladdr);
            } finally {
                contexts.release(ctx);
            }
        }
    }

    /** Removes the entry for {@code address}, dropping packets held for it; returns whether there was one. */
    public boolean delete(long address) {
        Packet held;
        synchronized (this) {
            Entry e = table.get(address);
            if (e == null) return false;
            if (e.state == State.INCOMPLETE) incomplete--;
            remove(e);
            held = takeHeld(e);
        }
        if (held != null) {
            PacketContext ctx = contexts.acquire();
            try {
                drop(ctx, held);
            } finally {
                contexts.release(ctx);
            }
        }
        return true;
    }

    /** Drops every entry and what it held (the interface is going away). */
    public void clear() {
        for (Entry e : entries()) delete(e.address);
    }

    /** An entry's timer: the next solicitation while incomplete, or its end. */
    private void expired(Entry e, long now) {
        boolean solicit = false;
        Packet dropped = null;
        synchronized (this) {
            if (table.get(e.address) != e || e.state == State.STATIC) return;
            if (e.expires - now > 0) { // moved meanwhile (a reply, a new resolution)
                arm(e, e.expires);
                return;
            }
            if (e.state == State.INCOMPLETE && e.tries < MAX_TRIES) {
                e.tries++;
                arm(e, now + RETRY_NANOS);
                solicit = true;
            } else {
                if (e.state == State.INCOMPLETE) incomplete--;
                remove(e);
                dropped = takeHeld(e);
            }
        }
        if (!solicit && dropped == null) return;
        PacketContext ctx = contexts.acquire();
        try {
            drop(ctx, dropped);
            if (solicit) protocol.solicit(ctx, e.address);
        } finally {
            contexts.release(ctx);
        }
    }

    private void arm(Entry e, long deadline) {
        e.expires = deadline;
        wheel.schedule(e.timer, deadline);
    }

    private Packet takeHeld(Entry e) {
        Packet held = e.holdHead;
        e.holdHead = e.holdTail = null;
        heldTotal -= e.held;
        e.held = 0;
        return held;
    }

    /**
     * Makes room for one more entry (under the lock), as Linux's neighbour GC does: above {@link #GC_THRESH2} the
     * entries unused for {@link #STALE_NANOS} go; at {@link #GC_THRESH3} the least recently used resolved ones go
     * until the table is back at {@link #GC_THRESH2}. Entries waiting for an answer and static ones stay.
     * @return whether there is room
     */
    private boolean makeRoom(PacketContext ctx) {
        Table t = table;
        if (t.size() < GC_THRESH2) return true;
        long now = now();
        List<Entry> all = t.entries();
        List<Entry> gone = new ArrayList<>();
        List<Entry> rest = new ArrayList<>();
        for (Entry e : all) {
            if (e.state != State.REACHABLE) continue;
            if (now - e.used > STALE_NANOS) gone.add(e); else rest.add(e);
        }
        if (t.size() - gone.size() >= GC_THRESH3) {
            rest.sort((a, b) -> Long.compare(a.used - now, b.used - now));
            for (int i = 0; i < rest.size() && t.size() - gone.size() > GC_THRESH2; i++) gone.add(rest.get(i));
        }
        if (!gone.isEmpty()) {
            for (Entry e : gone) wheel.cancel(e.timer);
            table = t.without(gone);
            ctx.stats().add(collected, gone.size());
        }
        return table.size() < GC_THRESH3;
    }

    private void sendHeld(PacketContext ctx, Packet held, long address, long lladdr) {
        while (held != null) {
            Packet n = held.nextPkt;
            held.nextPkt = null;
            protocol.sendHeld(ctx, held, address, lladdr);
            held = n;
        }
    }

    private void drop(PacketContext ctx, Packet m) {
        while (m != null) {
            Packet n = m.nextPkt;
            m.nextPkt = null;
            ctx.stats().inc(unresolved);
            m.free();
            m = n;
        }
    }

    /** A snapshot of the entries ({@code arp -a}). */
    public List<Entry> entries() { return table.entries(); }

    private void insert(Entry e) { table = table.with(e); }

    private void remove(Entry e) {
        wheel.cancel(e.timer);
        table = table.without(e);
    }

    /** An immutable open-addressing table of entries by address, for lock-free lookups; listed in insertion order. */
    private static final class Table {
        static final Table EMPTY = new Table(new NeighborCache.Entry[0], new NeighborCache.Entry[0]);

        private final NeighborCache.Entry[] slots;
        private final NeighborCache.Entry[] ordered;

        private Table(NeighborCache.Entry[] slots, NeighborCache.Entry[] ordered) {
            this.slots = slots;
            this.ordered = ordered;
        }

        private static int hash(long address) {
            long h = address * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }

        NeighborCache.Entry get(long address) {
            NeighborCache.Entry[] s = slots;
            if (s.length == 0) return null;
            int mask = s.length - 1;
            for (int i = hash(address) & mask; ; i = (i + 1) & mask) {
                NeighborCache.Entry e = s[i];
                if (e == null) return null;
                if (e.address == address) return e;
            }
        }

        Table with(NeighborCache.Entry e) {
            List<NeighborCache.Entry> all = entries();
            all.add(e);
            return of(all);
        }

        Table without(NeighborCache.Entry e) {
            List<NeighborCache.Entry> all = entries();
            all.remove(e);
            return of(all);
        }

        Table without(List<NeighborCache.Entry> gone) {
            java.util.Set<NeighborCache.Entry> g = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            g.addAll(gone);
            List<NeighborCache.Entry> all = entries();
            all.removeIf(g::contains);
            return of(all);
        }

        int size() { return ordered.length; }

        List<NeighborCache.Entry> entries() { return new ArrayList<>(List.of(ordered)); }

        private static Table of(List<NeighborCache.Entry> all) {
            if (all.isEmpty()) return EMPTY;
            NeighborCache.Entry[] s = new NeighborCache.Entry[Math.max(4, Integer.highestOneBit(all.size()) << 2)]; // under half full
            int mask = s.length - 1;
            for (NeighborCache.Entry e : all) {
                int i = hash(e.address) & mask;
                while (s[i] != null) i = (i + 1) & mask;
                s[i] = e;
            }
            return new Table(s, all.toArray(NeighborCache.Entry[]::new));
        }
    }
}
