package org.kextnet.kpi.net;

import java.util.List;

import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * A network interface ({@code ifnet_t}): name, unit, index, family, flags, MTU, link address, addresses and
 * counters, and the data-path entry points an extension uses to re-inject frames.
 *
 * <p>Accessors may be called from any thread. The reference stays valid after the interface detaches
 * ({@code ifnet_reference} is implicit in Java), but then {@link #isAttached()} is false and the data calls
 * return {@link org.kextnet.kpi.Errno#ENXIO}.
 */
public interface Ifnet {
    /** Interface flags ({@code IFF_*}). */
    int IFF_UP = 0x1, IFF_BROADCAST = 0x2, IFF_LOOPBACK = 0x8, IFF_POINTOPOINT = 0x10, IFF_RUNNING = 0x40,
            IFF_NOARP = 0x80, IFF_PROMISC = 0x100, IFF_MULTICAST = 0x8000;

    /** Interface ioctl commands, with xnu's values. */
    long SIOCSIFFLAGS = 0x80206910L, SIOCSIFMTU = 0x80206934L, SIOCGIFMTU = 0xc0206933L,
            SIOCADDMULTI = 0x80206931L, SIOCDELMULTI = 0x80206932L;

    /** Interface types ({@code IFT_*} of {@code if_types.h}). */
    int IFT_OTHER = 0x1, IFT_ETHER = 0x6, IFT_LOOP = 0x18, IFT_PROPVIRTUAL = 0x35;

    /** The name with its unit ("wire0"). */
    String name();

    /** The unit number (the trailing digits of the name). */
    int unit();

    /** The interface index, unique while the kernel runs. */
    int index();

    /** The family: how frames are built and demultiplexed. */
    IfnetFamily ifnetFamily();

    /** The interface type ({@code IFT_*}). */
    int ifnetType();

    /** The flags ({@code IFF_*}). */
    int flags();

    /** Sets the flags in {@code mask} to the bits of {@code value} ({@code ifnet_set_flags}); posts a flags event. */
    void setFlags(int value, int mask);

    int mtu();

    /**
     * Sets the MTU ({@code ifnet_set_mtu}); posts an MTU event.
     * @throws IllegalArgumentException outside 68..65535
     */
    void setMtu(int mtu);

    /** The link-layer address in the low 48 bits, or 0 for interfaces without one. */
    long lladdr();

    /** The addresses assigned to the interface ({@code ifnet_get_address_list}); a snapshot. */
    List<IfnetAddress> addressList();

    /** The counters; a snapshot. */
    IfnetStats statistics();

    /** Whether the interface is attached to the kernel (false once it detached). */
    boolean isAttached();

    /**
     * Hands a received frame to the stack as if the driver had received it ({@code ifnet_input}): demux,
     * interface filters, protocol. Used by interface drivers an extension created, and to re-inject frames
     * an interface filter swallowed on input (the filters run again: tag the frame to recognise it).
     * {@code m} starts at the link header. Takes ownership. May be called from any thread.
     *
     * @return 0, or {@link org.kextnet.kpi.Errno#ENXIO} if the interface is detached (the frame was freed)
     */
    int input(Mbuf m);

    /**
     * Sends a finished frame ({@code ifnet_output_raw}): interface filters, then the driver; no protocol
     * pre-output and no framing. Used to re-inject frames an interface filter swallowed on output (the
     * filters run again: tag the frame). Takes ownership.
     *
     * @param protocolFamily the frame's protocol family (passed to the filters)
     * @return 0, or {@link org.kextnet.kpi.Errno#ENXIO} if the interface is detached (the frame was freed)
     */
    int outputRaw(int protocolFamily, Mbuf m);

    /**
     * Sends a packet of protocol {@code protocolFamily} ({@code ifnet_output}): the attached protocol's
     * {@code preOutput}, the framer, the interface filters, the driver. Takes ownership.
     *
     * @param destination protocol-specific; for {@link ProtocolFamily#PF_INET} the IPv4 next hop
     * @return 0, {@link org.kextnet.kpi.Errno#ENXIO} (detached), {@link org.kextnet.kpi.Errno#EAFNOSUPPORT}
     *         (the protocol is not attached), or the error of {@code preOutput} or the framer
     */
    int output(int protocolFamily, Mbuf m, long destination);

    /**
     * Performs an interface ioctl ({@code ifnet_ioctl}): the interface filters, then the protocol attached
     * for {@code protocolFamily} (if not {@link ProtocolFamily#PF_UNSPEC}), then the interface itself; the
     * first that does not return {@link org.kextnet.kpi.Errno#EOPNOTSUPP} decides.
     *
     * @return 0 if handled, {@link org.kextnet.kpi.Errno#EOPNOTSUPP} if nobody handled it, or an error
     */
    int ioctl(int protocolFamily, long command, Object argument);

    /**
     * Posts an event about this interface ({@code ifnet_event}): it reaches the interface's filters, its
     * attached protocols, the interface's own event callback and every event subscriber.
     * @return 0, or an error from {@link org.kextnet.kpi.event.EventKpi#post}
     */
    int event(KernelEvent event);
}
