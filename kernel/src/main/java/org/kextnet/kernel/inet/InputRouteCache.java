package org.kextnet.kernel.inet;

import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Scratch;

/**
 * One packet thread's memory of what IPv4 input decided for the last (receiving interface, source,
 * destination) it saw: the address checks (martian, own source, local, broadcast) and, for a packet to
 * forward, its route. Packets of a flow come back to back, so most of them skip the per-packet walks of the
 * address lists and the routing table. The entry holds while the kernel's configuration generation
 * ({@link InetConfig#generation()}) is the one it was made under: changes of addresses
 * or routes bump it after they are published, so a stale entry is never used.
 *
 * <p>Owned by the thread of its {@link org.kextnet.kernel.net.PacketContext}; not thread-safe.
 */
public final class InputRouteCache {
    /** The cache of each packet thread. */
    static final Scratch<InputRouteCache> KEY = Scratch.of(InputRouteCache::new);

    /** What input does with a packet, by its addresses. */
    enum Verdict {
        /** A martian, or our own address as the source on a link: dropped. */
        BAD_ADDRESS,
        /** For one of our addresses. */
        LOCAL,
        /** For a broadcast address of the receiving interface's subnets. */
        BROADCAST,
        /** For a multicast group (nothing on this host listens yet). */
        MULTICAST,
        /** For another host: forwarded when forwarding is on. */
        FORWARD
    }

    private int generation;
    private Interface ifp;
    private int src, dst;
    Verdict verdict;
    /** For {@link #FORWARD}: the route to the destination, or null if there is none. */
    Route route;

    /** Whether the entry is for these addresses under configuration {@code generation}. */
    boolean matches(int generation, Interface ifp, int src, int dst) {
        return this.ifp == ifp && this.dst == dst && this.src == src && this.generation == generation;
    }

    void set(int generation, Interface ifp, int src, int dst, Verdict verdict, Route route) {
        this.generation = generation;
        this.ifp = ifp;
        this.src = src;
        this.dst = dst;
        this.verdict = verdict;
        this.route = route;
    }
}
