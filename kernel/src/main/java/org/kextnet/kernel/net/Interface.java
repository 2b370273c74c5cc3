package org.kextnet.kernel.net;

import java.util.Arrays;
import java.util.Objects;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.link.ArpCache;
import org.kextnet.kernel.link.LinkLayer;
import org.kextnet.kernel.stat.Stat;

/**
 * A network interface (xnu's {@code ifnet}): name, index, family, flags, MTU, link address, IPv4
 * addresses and counters, joined to a {@link Driver} below and the kernel's protocols above through its
 * {@link LinkLayer}.
 *
 * <p>Received frames enter at {@link #input}; packets leave through {@link #output} (framing, ARP) or
 * {@link #transmit} (finished frames). Configuration (flags, MTU, addresses) may change from any thread
 * while traffic flows: each field is published with a single volatile write.
 */
public final class Interface {
    private final Kernel kernel;
    private final String name;
    private final int index;
    private final IfFamily family;
    private final Driver driver;
    private final LinkLayer link;
    private final long lladdr;
    private final IfCounters counters = new IfCounters();
    private final ArpCache arp;
    private volatile int flags;
    private volatile int mtu;
    private volatile InterfaceAddress[] addresses = new InterfaceAddress[0];

    public Interface(Kernel kernel, String name, int index, IfFamily family, Driver driver, long lladdr, int mtu) {
        this.kernel = Objects.requireNonNull(kernel);
        this.name = Objects.requireNonNull(name);
        this.index = index;
        this.family = Objects.requireNonNull(family);
        this.driver = Objects.requireNonNull(driver);
        this.lladdr = lladdr;
        this.mtu = mtu;
        this.link = LinkLayer.of(family);
        this.arp = family == IfFamily.ETHERNET ? new ArpCache(kernel, this) : null;
        this.flags = switch (family) {
            case LOOPBACK -> IfFlags.LOOPBACK | IfFlags.MULTICAST;
            case ETHERNET -> IfFlags.BROADCAST | IfFlags.MULTICAST;
            case TUN -> IfFlags.POINTOPOINT | IfFlags.NOARP | IfFlags.MULTICAST;
        };
    }

    public Kernel kernel() { return kernel; }
    public String name() { return name; }
    /** The unit number: the trailing digits of the name ("tun3" is unit 3), or 0. */
    public int unit() {
        int i = name.length();
        while (i > 0 && Character.isDigit(name.charAt(i - 1))) i--;
        return i == name.length() ? 0 : Integer.parseInt(name.substring(i));
    }
    public int index() { return index; }
    public IfFamily family() { return family; }
    public Driver driver() { return driver; }
    public LinkLayer link() { return link; }
    /** The link-layer (MAC) address, or 0 for interfaces without one. */
    public long lladdr() { return lladdr; }
    public IfCounters counters() { return counters; }
    /** The ARP cache of an Ethernet interface, else null. */
    public ArpCache arp() { return arp; }
    public int flags() { return flags; }
    public boolean isUp() { return (flags & IfFlags.UP) != 0; }
    public int mtu() { return mtu; }

    public void setMtu(int mtu) {
        if (mtu < 68 || mtu > 65535) throw new IllegalArgumentException("MTU " + mtu + " out of range 68..65535");
        this.mtu = mtu;
    }

    /** Sets the flags in {@code mask} to {@code value}, as {@code ifnet_set_flags}. */
    public synchronized void setFlags(int value, int mask) {
        int old = flags;
        int now = (old & ~mask) | (value & mask);
        if ((now & IfFlags.UP) != 0) now |= IfFlags.RUNNING; else now &= ~IfFlags.RUNNING;
        flags = now;
        if ((old & IfFlags.UP) == 0 && (now & IfFlags.UP) != 0 && arp != null) {
            for (InterfaceAddress a : addresses) arp.announce(kernel.context(), a.address());
        }
    }

    public void up() { setFlags(IfFlags.UP, IfFlags.UP); }
    public void down() { setFlags(0, IfFlags.UP); }

    public InterfaceAddress[] addresses() { return addresses.clone(); }

    /** The first IPv4 address, or 0 if none: the source for packets this interface originates. */
    public int primaryAddress() {
        InterfaceAddress[] a = addresses;
        return a.length == 0 ? 0 : a[0].address();
    }

    /** Whether {@code a} is one of this interface's addresses. */
    public boolean hasAddress(int a) {
        for (InterfaceAddress x : addresses) if (x.address() == a) return true;
        return false;
    }

    /** Whether {@code a} is a broadcast address of one of this interface's subnets. */
    public boolean isBroadcastFor(int a) {
        if (a == -1) return true;
        for (InterfaceAddress x : addresses) if (x.prefixLength() < 31 && x.broadcast() == a) return true;
        return false;
    }

    /**
     * Adds an address; the kernel adds the connected route. An Ethernet interface that is up announces it
     * with a gratuitous ARP.
     */
    public synchronized void addAddress(InterfaceAddress a) {
        for (InterfaceAddress x : addresses) if (x.address() == a.address()) throw new IllegalArgumentException(name + ": address " + a + " already assigned");
        InterfaceAddress[] n = Arrays.copyOf(addresses, addresses.length + 1);
        n[n.length - 1] = a;
        addresses = n;
        if (arp != null && isUp()) arp.announce(kernel.context(), a.address());
    }

    public synchronized boolean removeAddress(int address) {
        InterfaceAddress[] a = addresses;
        for (int i = 0; i < a.length; i++) {
            if (a[i].address() == address) {
                InterfaceAddress[] n = new InterfaceAddress[a.length - 1];
                System.arraycopy(a, 0, n, 0, i);
                System.arraycopy(a, i + 1, n, i, a.length - i - 1);
                addresses = n;
                return true;
            }
        }
        return false;
    }

    /**
     * A frame from the driver. Takes ownership. Counts it, then hands it to the link layer.
     * Malformed frames are counted and dropped; nothing is thrown.
     */
    public void input(PacketContext ctx, Mbuf m) {
        counters.input(1, m.length());
        receive(ctx, m);
    }

    /** A batch of frames from the driver, counted once. Takes ownership of all {@code n}. */
    public void input(PacketContext ctx, Mbuf[] batch, int n) {
        long bytes = 0;
        for (int i = 0; i < n; i++) bytes += batch[i].length();
        counters.input(n, bytes);
        for (int i = 0; i < n; i++) {
            Mbuf m = batch[i];
            batch[i] = null;
            receive(ctx, m);
        }
    }

    private void receive(PacketContext ctx, Mbuf m) {
        if ((flags & IfFlags.UP) == 0) {
            counters.inc(IfCounters.IDROPS);
            ctx.stats().inc(Stat.LINK_DOWN);
            m.free();
            return;
        }
        m.setRcvif(this);
        try {
            link.input(ctx, this, m);
        } catch (RuntimeException e) {
            // A view read past the data of a malformed frame: count it, never let it escape to the reader thread.
            // The frame may already have been passed on and freed, so it is not freed again here.
            counters.inc(IfCounters.IERRORS);
            kernel.reportError(this, e);
        }
    }

    /**
     * Sends an IPv4 packet ({@code m} starts at the IP header) to {@code nextHop} on this link: frames it
     * (resolving the link address first where needed) and transmits it. Takes ownership.
     */
    public void output(PacketContext ctx, Mbuf m, int nextHop) {
        if ((flags & IfFlags.UP) == 0) {
            counters.inc(IfCounters.ODROPS);
            ctx.stats().inc(Stat.LINK_DOWN);
            m.free();
            return;
        }
        link.output(ctx, this, m, nextHop);
    }

    /** Hands a finished frame to the driver and counts it. Takes ownership. */
    public void transmit(PacketContext ctx, Mbuf m) {
        int len = m.length();
        if (driver.transmit(ctx, m)) {
            counters.output(1, len);
        } else {
            counters.inc(IfCounters.ODROPS);
            ctx.stats().inc(Stat.LINK_TX_FULL);
        }
    }

    @Override public String toString() { return name; }
}
