package org.kextnet.kernel.inet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.Interfaces;

/**
 * The host's IPv4 configuration ({@code in.c}): the addresses of every interface, the routes, the forwarding
 * switch, and the configuration generation that packet threads' caches check. Every published change of an
 * address or a route bumps the generation, so the next packet decides again ({@link InputRouteCache}).
 *
 * <p>Interfaces going away take their addresses and routes with them ({@link Interfaces.Observer}).
 */
public final class InetConfig implements Interfaces.Observer {
    private static final VarHandle GENERATION;
    static {
        try {
            GENERATION = MethodHandles.lookup().findVarHandle(InetConfig.class, "generation", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Interfaces interfaces;
    private final RouteTable routes = new RouteTable(this::changed);
    private volatile int[] localAddresses = new int[0];
    private volatile int generation;
    private volatile boolean forwarding;
    /** The route of packets to this host's own addresses: through loopback. */
    private volatile Route loopbackRoute;

    public InetConfig(Interfaces interfaces) {
        this.interfaces = interfaces;
    }

    public RouteTable routes() { return routes; }

    public boolean forwarding() { return forwarding; }
    public void setForwarding(boolean on) { forwarding = on; }

    /** Makes {@code lo0} the interface for packets to this host's own addresses. */
    public void setLoopback(Interface lo0) { loopbackRoute = new Route(0, 0, 0, lo0, true); }

    /**
     * The configuration generation: changes whenever an address or a route changed, after the change is
     * visible. A decision cached under one generation holds while it is current.
     */
    public int generation() { return generation; }

    /** Called after a change of addresses or routes was published. */
    public void changed() { int unused = (int) GENERATION.getAndAdd(this, 1); }

    /** Assigns an address to {@code ifp} and adds its connected route. */
    public void addAddress(Interface ifp, InterfaceAddress a) {
        ifp.addAddress(a);
        refreshLocalAddresses();
        if (a.prefixLength() < 32) {
            try {
                routes.add(new Route(a.network(), a.prefixLength(), 0, ifp, true));
            } catch (IllegalArgumentException e) {
                // another interface already reaches that subnet: keep its route
            }
        }
    }

    /** Removes an address from {@code ifp}, with its connected route; false if it had no such address. */
    public boolean removeAddress(Interface ifp, int address) {
        InterfaceAddress found = null;
        for (InterfaceAddress a : ifp.addresses()) if (a.address() == address) found = a;
        if (found == null || !ifp.removeAddress(address)) return false;
        refreshLocalAddresses();
        Route r = routes.lookup(found.network());
        if (r != null && r.connected() && r.ifp() == ifp && r.prefixLength() == found.prefixLength()) {
            routes.remove(found.network(), found.prefixLength());
        }
        return true;
    }

    @Override public void detaching(Interface ifp) {
        routes.removeInterface(ifp);
        refreshLocalAddresses();
    }

    private synchronized void refreshLocalAddresses() {
        List<Integer> all = new ArrayList<>();
        for (Interface i : interfaces.list()) for (InterfaceAddress a : i.addresses()) all.add(a.address());
        localAddresses = all.stream().mapToInt(Integer::intValue).toArray();
        changed();
    }

    /** Whether {@code a} is assigned to any interface of this host (the weak host model, RFC 1122 3.3.4.2). */
    public boolean isLocalAddress(int a) {
        for (int x : localAddresses) if (x == a) return true;
        return false;
    }

    /** The route for {@code dst}: through lo0 for this host's own addresses, else from the table. */
    public Route routeFor(int dst) {
        if (isLocalAddress(dst)) return loopbackRoute;
        return routes.lookup(dst);
    }

    /** The source address a packet to {@code dst} would carry, or 0 without a route. */
    public int sourceAddressFor(int dst) {
        if (isLocalAddress(dst)) return dst;
        Route r = routes.lookup(dst);
        if (r == null) return 0;
        return r.ifp().sourceAddressFor(r.nextHop(dst));
    }
}
