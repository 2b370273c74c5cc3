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

    /** Verdicts. */
    static final int BAD_ADDRESS = 0, LOCAL = 1, BROADCAST = 2, MULTICAST = 3, FORWARD = 4;

    private int generation;
    private Interface ifp;
    private int src, dst;
    int verdict;
    /** For {@link #FORWARD}: the route to the destination, or null if there is none. */
    Route route;

    /** Whether the entry is for these addresses under configuration {@code generation}. */
    boolean matches(int generation, Interface ifp, int src, int dst) {
        return this.ifp == ifp && this.dst == dst && this.src == src && this.generation == generation;
    }

    void set(int generation, Interface ifp, int src, int dst, int verdict, Route route) {
        this.generation = generation;
        this.ifp = ifp;
        this.src = src;
        this.dst = dst;
        this.verdict = verdict;
        this.route = route;
    }
}
