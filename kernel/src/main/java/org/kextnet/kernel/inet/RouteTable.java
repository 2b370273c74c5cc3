package org.kextnet.kernel.inet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.kextnet.kernel.net.Interface;

/**
 * The IPv4 routing table: longest-prefix match over routes kept sorted by prefix length, longest first,
 * so the first match wins. Lookups read one immutable snapshot without locking; changes copy it.
 * Small tables (the common case here) scan faster than a trie walks.
 */
public final class RouteTable {
    private static final Comparator<Route> LONGEST_FIRST = Comparator.comparingInt(Route::prefixLength).reversed();

    private record Snapshot(Route[] routes, int[] dst, int[] mask) {
        static Snapshot of(Route[] routes) {
            int[] d = new int[routes.length], m = new int[routes.length];
            for (int i = 0; i < routes.length; i++) { d[i] = routes[i].destination(); m[i] = routes[i].mask(); }
            return new Snapshot(routes, d, m);
        }
    }

    private volatile Snapshot table = Snapshot.of(new Route[0]);
    private final Runnable changed;

    /** @param changed called after each published change (the kernel's configuration generation) */
    public RouteTable(Runnable changed) { this.changed = changed; }

    public RouteTable() { this(() -> {}); }

    private void publish(Snapshot t) {
        table = t;
        changed.run();
    }

    /** The best route to {@code dst}, or null. */
    public Route lookup(int dst) {
        Snapshot t = table;
        int[] d = t.dst, m = t.mask;
        for (int i = 0; i < d.length; i++) {
            if ((dst & m[i]) == d[i]) return t.routes[i];
        }
        return null;
    }

    /** Adds a route; fails if one for the same destination and prefix exists. */
    public synchronized void add(Route r) {
        for (Route x : table.routes) {
            if (x.destination() == r.destination() && x.prefixLength() == r.prefixLength()) {
                throw new IllegalArgumentException("route to " + r + " exists");
            }
        }
        Route[] n = Arrays.copyOf(table.routes, table.routes.length + 1);
        n[n.length - 1] = r;
        Arrays.sort(n, LONGEST_FIRST); // stable: among equal prefixes the older route stays first
        publish(Snapshot.of(n));
    }

    /** Removes the route for destination/prefix; returns whether there was one. */
    public synchronized boolean remove(int destination, int prefixLength) {
        List<Route> keep = new ArrayList<>();
        boolean found = false;
        for (Route x : table.routes) {
            if (x.destination() == (destination & org.kextnet.kernel.wire.Ipv4.mask(prefixLength)) && x.prefixLength() == prefixLength) found = true;
            else keep.add(x);
        }
        if (found) publish(Snapshot.of(keep.toArray(Route[]::new)));
        return found;
    }

    /** Removes every route through {@code ifp} (when it goes away). */
    public synchronized void removeInterface(Interface ifp) {
        publish(Snapshot.of(Arrays.stream(table.routes).filter(r -> r.ifp() != ifp).toArray(Route[]::new)));
    }

    public List<Route> routes() { return List.of(table.routes); }
}
