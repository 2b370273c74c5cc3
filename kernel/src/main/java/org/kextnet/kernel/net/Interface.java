package org.kextnet.kernel.net;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.Layers.LinkLayer;
import org.kextnet.kernel.net.Layers.PreOutput;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEvents;
import org.kextnet.kpi.event.NetEventData;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetAddress;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.net.IfnetStats;
import org.kextnet.kpi.net.ProtocolFamily;

/**
 * A network interface (xnu's {@code ifnet}): name, index, family, flags, MTU, link address, IPv4
 * addresses and counters, joined to a {@link Driver} below and the kernel's protocols above through its
 * {@link LinkLayer}, with its interface filters in between. The kernel's implementation of the KPI's
 * {@link Ifnet}.
 *
 * <p>Received frames enter at {@link #input}; packets leave through {@link #output} (framing, ARP),
 * {@link #outputFrame} (finished frames, through the interface filters) or {@link #transmit} (straight to
 * the driver). Configuration (flags, MTU, addresses) may change from any thread while traffic flows: each
 * field is published with a single volatile write, and events about it are posted after the change, with no
 * lock held.
 */
public final class Interface implements Ifnet {
    private final Interfaces table;
    private final String name;
    private final int index;
    private final IfFamily family;
    private final Driver driver;
    private final LinkLayer link;
    private final long lladdr;
    private final IfCounters counters;
    private final InterfaceFilters filters;
    private volatile int flags;
    private volatile int mtu;
    private volatile boolean attached = true;
    private volatile boolean linkUp = true;
    private volatile InterfaceAddress[] addresses = new InterfaceAddress[0];
    private volatile DemuxTable protocols = DemuxTable.EMPTY;
    private final IfnetFamily kpiFamily;
    private final int kpiType;
    /** The subnet broadcast addresses of {@link #addresses}, kept beside them for the per-packet check. */
    private volatile int[] broadcasts = new int[0];

    /**
     * An interface with its own link layer and KPI identity (extension interfaces: their declared family and
     * type, their own demux or framer).
     */
    public Interface(Interfaces table, String name, int index, IfFamily family, Driver driver, long lladdr, int mtu,
                     LinkLayer link, IfnetFamily kpiFamily, int kpiType) {
        this.table = Objects.requireNonNull(table);
        this.kpiFamily = kpiFamily;
        this.kpiType = kpiType;
        this.name = Objects.requireNonNull(name);
        this.index = index;
        this.family = Objects.requireNonNull(family);
        this.driver = Objects.requireNonNull(driver);
        this.lladdr = lladdr;
        this.mtu = mtu;
        this.counters = new IfCounters(table.contexts().stats(), index);
        this.link = Objects.requireNonNull(link);
        this.filters = new InterfaceFilters(this, table.heads());
        this.flags = switch (family) {
            case LOOPBACK -> IfFlags.LOOPBACK | IfFlags.MULTICAST;
            case ETHERNET -> IfFlags.BROADCAST | IfFlags.MULTICAST;
            case TUN -> IfFlags.POINTOPOINT | IfFlags.NOARP | IfFlags.MULTICAST;
        };
    }

    /** The kernel's interface table this interface belongs to. */
    public Interfaces table() { return table; }
    @Override public String name() { return name; }
    /** The unit number: the trailing digits of the name ("tun3" is unit 3), or 0. */
    @Override public int unit() {
        int i = name.length();
        while (i > 0 && Character.isDigit(name.charAt(i - 1))) i--;
        return i == name.length() ? 0 : Integer.parseInt(name.substring(i));
    }
    @Override public int index() { return index; }
    public IfFamily family() { return family; }
    public Driver driver() { return driver; }
    public LinkLayer link() { return link; }
    /** The link-layer (MAC) address, or 0 for interfaces without one. */
    @Override public long lladdr() { return lladdr; }
    public IfCounters counters() { return counters; }
    /** The interface filters of this interface. */
    public InterfaceFilters filters() { return filters; }
    @Override public int flags() { return flags; }
    public boolean isUp() { return (flags & IfFlags.UP) != 0; }
    @Override public int mtu() { return mtu; }
    @Override public boolean isAttached() { return attached; }

    /** The protocols attached to this interface, arranged for demux. */
    public DemuxTable protocols() { return protocols; }

    /** Publishes a new protocol table (the protocol registry does, under its lock). */
    public void setProtocols(DemuxTable t) { protocols = t; }

    @Override public IfnetFamily ifnetFamily() {
        if (kpiFamily != null) return kpiFamily;
        return switch (family) {
            case LOOPBACK -> IfnetFamily.LOOPBACK;
            case ETHERNET -> IfnetFamily.ETHERNET;
            case TUN -> IfnetFamily.TUN;
        };
    }

    @Override public int ifnetType() {
        if (kpiFamily != null) return kpiType;
        return switch (family) {
            case LOOPBACK -> IFT_LOOP;
            case ETHERNET -> IFT_ETHER;
            case TUN -> IFT_OTHER;
        };
    }

    /** Sets the MTU and posts {@code KEV_DL_SIFMTU}. */
    @Override public void setMtu(int mtu) {
        if (mtu < 68 || mtu > 65535) throw new IllegalArgumentException("MTU " + mtu + " out of range 68..65535");
        int old = this.mtu;
        this.mtu = mtu;
        if (old != mtu) postEvent(KernelEvents.KEV_DL_SUBCLASS, KernelEvents.KEV_DL_SIFMTU);
    }

    /**
     * Sets the flags in {@code mask} to {@code value}, as {@code ifnet_set_flags}; posts {@code KEV_DL_SIFFLAGS}
     * if they changed (the kernel's IPv4 announces the addresses of an Ethernet interface that comes up when it
     * hears of it).
     */
    @Override public void setFlags(int value, int mask) {
        int old, now;
        synchronized (this) {
            old = flags;
            now = (old & ~mask) | (value & mask);
            if ((now & IfFlags.UP) != 0) now |= IfFlags.RUNNING; else now &= ~IfFlags.RUNNING;
            flags = now;
        }
        if (old == now) return;
        postEvent(KernelEvents.KEV_DL_SUBCLASS, KernelEvents.KEV_DL_SIFFLAGS);
    }

    public void up() { setFlags(IfFlags.UP, IfFlags.UP); }
    public void down() { setFlags(0, IfFlags.UP); }

    /** The driver reports link up or down; posts {@code KEV_DL_LINK_ON} or {@code KEV_DL_LINK_OFF} on a change. */
    public void setLinkState(boolean up) {
        if (linkUp == up) return;
        linkUp = up;
        postEvent(KernelEvents.KEV_DL_SUBCLASS, up ? KernelEvents.KEV_DL_LINK_ON : KernelEvents.KEV_DL_LINK_OFF);
    }

    public boolean linkUp() { return linkUp; }

    public InterfaceAddress[] addresses() { return addresses.clone(); }

    /** The first IPv4 address, or 0 if none: the source for packets this interface originates. */
    public int primaryAddress() {
        InterfaceAddress[] a = addresses;
        return a.length == 0 ? 0 : a[0].address();
    }

    /**
     * The source for a packet to {@code nextHop}: this interface's address on the subnet that holds it, else the
     * first address (0 if none). Copies nothing: it runs for every datagram an unbound socket sends.
     */
    public int sourceAddressFor(int nextHop) {
        InterfaceAddress[] a = addresses;
        for (InterfaceAddress x : a) if (x.contains(nextHop)) return x.address();
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
        for (int b : broadcasts) if (b == a) return true;
        return false;
    }

    private void setAddresses(InterfaceAddress[] n) {
        addresses = n;
        broadcasts = Arrays.stream(n).filter(x -> x.prefixLength() < 31).mapToInt(InterfaceAddress::broadcast).toArray();
    }

    /**
     * Adds an address and posts {@code KEV_INET_NEW_ADDR}; IPv4 ({@code inet.InetConfig}) adds the connected
     * route and announces it.
     */
    public void addAddress(InterfaceAddress a) {
        synchronized (this) {
            for (InterfaceAddress x : addresses) if (x.address() == a.address()) throw new IllegalArgumentException(name + ": address " + a + " already assigned");
            InterfaceAddress[] n = Arrays.copyOf(addresses, addresses.length + 1);
            n[n.length - 1] = a;
            setAddresses(n);
        }
        postAddressEvent(KernelEvents.KEV_INET_NEW_ADDR, a.address());
    }

    /** Removes an address; posts {@code KEV_INET_ADDR_DELETED}. */
    public boolean removeAddress(int address) {
        synchronized (this) {
            InterfaceAddress[] a = addresses;
            int i = 0;
            while (i < a.length && a[i].address() != address) i++;
            if (i == a.length) return false;
            InterfaceAddress[] n = new InterfaceAddress[a.length - 1];
            System.arraycopy(a, 0, n, 0, i);
            System.arraycopy(a, i + 1, n, i, a.length - i - 1);
            setAddresses(n);
        }
        postAddressEvent(KernelEvents.KEV_INET_ADDR_DELETED, address);
        return true;
    }

    @Override public List<IfnetAddress> addressList() {
        List<IfnetAddress> l = new ArrayList<>();
        for (InterfaceAddress a : addresses) {
            int x = a.address();
            try {
                l.add(new IfnetAddress(InetAddress.getByAddress(new byte[] {(byte) (x >>> 24), (byte) (x >>> 16), (byte) (x >>> 8), (byte) x}),
                        a.prefixLength()));
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e); // 4 bytes are always an address
            }
        }
        return l;
    }

    @Override public IfnetStats statistics() {
        IfCounters c = counters;
        return new IfnetStats(c.get(IfCounters.IPACKETS), c.get(IfCounters.IBYTES), c.get(IfCounters.IERRORS),
                c.get(IfCounters.IDROPS), c.get(IfCounters.OPACKETS), c.get(IfCounters.OBYTES),
                c.get(IfCounters.OERRORS), c.get(IfCounters.ODROPS));
    }

    // ---- input ----

    /**
     * A frame from the driver. Takes ownership. Counts it, then hands it to the link layer.
     * Malformed frames are counted and dropped; nothing is thrown.
     */
    public void input(PacketContext ctx, Packet m) {
        counters.input(ctx, 1, m.length());
        ctx.enter();
        try {
            receive(ctx, m);
        } finally {
            ctx.exit();
        }
    }

    /**
     * A batch of frames from the driver, counted once, run in one read-side section. Takes ownership of
     * all {@code n}. The link layer may take the batch's common case (IPv4 to forward) through the stack as
     * a vector, layer by layer; every other frame goes through {@link #receive} on its own, in order.
     */
    public void input(PacketContext ctx, Packet[] batch, int n) {
        long bytes = 0;
        for (int i = 0; i < n; i++) bytes += batch[i].length();
        counters.input(ctx, n, bytes);
        ctx.enter();
        try {
            if (ctx.inVector || (flags & IfFlags.UP) == 0) {
                receiveEach(ctx, batch, n);
            } else {
                ctx.inVector = true;
                try {
                    link.input(ctx, this, batch, n);
                } finally {
                    ctx.inVector = false;
                }
            }
        } catch (RuntimeException e) {
            // Not a malformed frame (the vector path reads only what it has checked is there) but a bug:
            // reported, the packets still gathered in the thread's vectors freed, and the reader carries on.
            ctx.discardVectors();
            counters.inc(IfCounters.IERRORS);
            table.reportError(this, e);
        } finally {
            ctx.exit();
        }
    }

    /** Each frame of {@code batch[0..n)} through {@link #receive}, in order. Takes ownership; clears the slots. */
    public void receiveEach(PacketContext ctx, Packet[] batch, int n) {
        for (int i = 0; i < n; i++) {
            Packet m = batch[i];
            batch[i] = null;
            receive(ctx, m);
        }
    }

    /**
     * One received frame, on its own: dropped if the interface is down, otherwise stamped with this
     * interface and handed to the link layer. A frame that makes a header view read past its data is
     * counted; nothing is thrown. Takes ownership.
     */
    public void receive(PacketContext ctx, Packet m) {
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
            table.reportError(this, e);
        }
    }

    /** {@code ifnet_input} for extensions: a frame (from its link header) as if the driver received it. */
    @Override public int input(Mbuf m) {
        if (!attached) {
            m.free();
            return Errno.ENXIO;
        }
        Contexts contexts = table.contexts();
        PacketContext ctx = contexts.acquire();
        try {
            input(ctx, (Packet) m);
        } finally {
            contexts.release(ctx);
        }
        return 0;
    }

    // ---- output ----

    /**
     * Sends an IPv4 packet ({@code m} starts at the IP header) to {@code nextHop} on this link: frames it
     * (resolving the link address first where needed) and transmits it. Takes ownership.
     */
    public void output(PacketContext ctx, Packet m, int nextHop) {
        if ((flags & IfFlags.UP) == 0) {
            counters.inc(IfCounters.ODROPS);
            ctx.stats().inc(Stat.LINK_DOWN);
            m.free();
            return;
        }
        ProtocolAttachment inet = protocols.inet;
        if (inet == null) { // IPv4 is not plumbed on this interface
            counters.inc(IfCounters.ODROPS);
            ctx.stats().inc(Stat.LINK_NO_PROTOCOL);
            m.free();
            return;
        }
        inet.output(ctx, m, nextHop & 0xffffffffL);
    }

    /**
     * Sends IPv4 packets {@code from} (inclusive) to {@code to} of {@code packets}, each to its next hop in
     * {@code nextHops}, as {@link #output(PacketContext, Packet, int)} does one by one: the checks of the
     * interface are made once, and the link layer frames the run as a vector. Each packet first passes
     * {@code pre} (null: none), in order. Takes ownership of them all and clears their slots.
     */
    public void output(PacketContext ctx, Packet[] packets, int[] nextHops, int from, int to, PreOutput pre) {
        ProtocolAttachment inet = protocols.inet;
        if ((flags & IfFlags.UP) == 0 || inet == null) {
            for (int i = from; i < to; i++) { // down or unplumbed: the one-by-one path counts each drop
                Packet m = packets[i];
                packets[i] = null;
                if (pre == null || pre.pass(ctx, m)) output(ctx, m, nextHops[i]);
            }
            return;
        }
        inet.output(ctx, packets, nextHops, from, to, pre);
    }

    /**
     * A finished frame of protocol family {@code protocol}: runs the interface output filters, then hands it
     * to the driver. Takes ownership.
     */
    public void outputFrame(PacketContext ctx, Packet m, int protocol) {
        if (!filters.output(ctx, protocol, m)) return;
        transmit(ctx, m);
    }

    /** Hands a finished frame to the driver and counts it. Takes ownership. */
    public void transmit(PacketContext ctx, Packet m) {
        int len = m.length();
        if (driver.transmit(ctx, m)) {
            counters.output(ctx, 1, len);
        } else {
            countTransmitFull(ctx);
        }
    }

    /** Counts a frame the driver refused (its queue was full; it freed the frame). */
    public void countTransmitFull(PacketContext ctx) {
        counters.inc(IfCounters.ODROPS);
        ctx.stats().inc(Stat.LINK_TX_FULL);
    }

    @Override public int outputRaw(int protocolFamily, Mbuf m) {
        if (!attached) {
            m.free();
            return Errno.ENXIO;
        }
        Contexts contexts = table.contexts();
        PacketContext ctx = contexts.acquire();
        try {
            outputFrame(ctx, (Packet) m, protocolFamily);
        } finally {
            contexts.release(ctx);
        }
        return 0;
    }

    @Override public int output(int protocolFamily, Mbuf m, long destination) {
        if (!attached) {
            m.free();
            return Errno.ENXIO;
        }
        ProtocolAttachment pa = protocols.byFamily(protocolFamily);
        if (pa == null) {
            m.free();
            return Errno.EAFNOSUPPORT;
        }
        Contexts contexts = table.contexts();
        PacketContext ctx = contexts.acquire();
        try {
            return pa.outputChecked(ctx, (Packet) m, destination);
        } finally {
            contexts.release(ctx);
        }
    }

    // ---- ioctl and events ----

    @Override public int ioctl(int protocolFamily, long command, Object argument) {
        if (!attached) return Errno.ENXIO;
        // The chain of xnu's ifnet_ioctl: interface filters, the protocol, the interface itself.
        int r = table.contexts().call(ctx -> filters.ioctl(ctx, protocolFamily, command, argument));
        if (r == Errno.EJUSTRETURN) return 0;
        if (r != 0 && r != Errno.EOPNOTSUPP) return r;
        boolean handled = r == 0;
        ProtocolAttachment pa = protocolFamily == ProtocolFamily.PF_UNSPEC ? null : protocols.byFamily(protocolFamily);
        if (pa != null) {
            int p = pa.ioctl(command, argument);
            if (p == Errno.EJUSTRETURN) return 0;
            if (p != 0 && p != Errno.EOPNOTSUPP) return p;
            handled |= p == 0;
        }
        int own = ownIoctl(command, argument);
        return own == Errno.EOPNOTSUPP && handled ? 0 : own;
    }

    /** The interface's own ioctls: the driver's, then flags and MTU. */
    private int ownIoctl(long command, Object argument) {
        if (driver instanceof DriverHooks h) {
            int r = h.ioctl(this, command, argument);
            if (r != Errno.EOPNOTSUPP) return r == Errno.EJUSTRETURN ? 0 : r;
        }
        try {
            if (command == SIOCSIFFLAGS && argument instanceof Integer f) {
                setFlags(f, IfFlags.UP | IfFlags.PROMISC);
                return 0;
            }
            if (command == SIOCSIFMTU && argument instanceof Integer v) {
                setMtu(v);
                return 0;
            }
            if (command == SIOCGIFMTU && argument instanceof int[] out && out.length > 0) {
                out[0] = mtu;
                return 0;
            }
        } catch (IllegalArgumentException e) {
            return Errno.EINVAL;
        }
        return Errno.EOPNOTSUPP;
    }

    @Override public int event(KernelEvent event) {
        if (!attached) return Errno.ENXIO;
        deliverEvent(event);
        return 0;
    }

    /** The data-link event payload naming this interface. */
    public NetEventData eventData() { return new NetEventData(ifnetFamily().code(), unit(), name); }

    /** Posts a data-link event about this interface (filters, then the event bus). */
    public void postEvent(int subclass, int code) {
        deliverEvent(KernelEvent.of(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS, subclass, code,
                eventData().encode()));
    }

    private void postAddressEvent(int code, int address) {
        byte[] d = eventData().encode(4).putInt(address).array();
        deliverEvent(KernelEvent.of(KernelEvents.KEV_VENDOR_KEXTNET, KernelEvents.KEV_NETWORK_CLASS,
                KernelEvents.KEV_INET_SUBCLASS, code, d));
    }

    /**
     * An event reaches the interface filters, the attached protocols, the interface's own event callback
     * (extension interfaces), then every subscriber of the bus ({@code dlil_event}).
     */
    public void deliverEvent(KernelEvent event) {
        Contexts contexts = table.contexts();
        PacketContext ctx = contexts.acquire();
        try {
            filters.event(ctx, event);
            ctx.enter();
            try {
                for (ProtocolAttachment pa : protocols.all()) pa.event(ctx, event);
                if (driver instanceof DriverHooks hooks) hooks.event(this, event);
            } finally {
                ctx.exit();
            }
        } finally {
            contexts.release(ctx);
        }
        table.events().post(event);
    }

    /**
     * What a driver may want to hear besides frames to send: events about its interface, protocols attaching
     * and detaching, ioctls ({@code ifnet_event_func}, {@code ifnet_add_proto_func}, {@code ifnet_del_proto_func},
     * {@code ifnet_ioctl_func}). Extension interfaces implement it.
     */
    public interface DriverHooks {
        default void event(Interface ifp, KernelEvent event) {}
        default int addProto(Interface ifp, int pf, java.util.List<org.kextnet.kpi.net.DemuxDescriptor> demux) { return 0; }
        default void delProto(Interface ifp, int pf) {}
        default int ioctl(Interface ifp, long command, Object argument) { return Errno.EOPNOTSUPP; }
    }

    /** Tells the driver a protocol attaches; a non-zero result refuses it. */
    public int addProtocol(int pf, java.util.List<org.kextnet.kpi.net.DemuxDescriptor> demux) {
        return driver instanceof DriverHooks h ? h.addProto(this, pf, demux) : 0;
    }

    /** Tells the driver a protocol detached. */
    public void delProtocol(int pf) {
        if (driver instanceof DriverHooks h) h.delProto(this, pf);
    }

    // ---- detach ----

    private final java.util.concurrent.atomic.AtomicBoolean detaching = new java.util.concurrent.atomic.AtomicBoolean();

    /** Claims the detach of this interface; false if it was claimed already. */
    public boolean startDetach() { return detaching.compareAndSet(false, true); }

    /** Marks the interface detached: data calls fail with ENXIO from now on, and its filters are detached. */
    public void markDetached() {
        attached = false;
        filters.close();
    }

    @Override public String toString() { return name; }
}
