package org.kextnet.kpi.interfacefilter;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * An interface filter ({@code struct iff_filter}). The filter object is xnu's cookie. Every callback is
 * optional; a filter overriding only {@link #input} costs nothing on output.
 *
 * <p>Callbacks run concurrently, must not block and may call back into the KPI. The {@link Ifnet} passed is
 * the interface the filter is attached to. A callback that throws gives up the frame: the kernel drops it
 * (unless configured to pass), counts the fault and detaches the filter after repeated faults.
 */
public interface InterfaceFilter {
    /**
     * A received frame ({@code iff_input}). The frame header lies in {@code m.segment()} from
     * {@code frameHeader} to {@code m.offset()} (empty on links without one); the data starts at the network
     * header. To change the frame header, prepend a new one and {@link Mbuf#adj} back.
     *
     * <p>Does not take ownership unless the filter returns {@link Errno#EJUSTRETURN}.
     * Optional; default: 0.
     *
     * @param protocolFamily the family demux found, or 0 if no attached protocol wants the frame
     * @return 0 continue, EJUSTRETURN taken, another errno drop
     */
    default int input(Ifnet ifp, int protocolFamily, Mbuf m, int frameHeader) { return 0; }

    /**
     * A frame about to be handed to the driver ({@code iff_output}), link header included.
     * Does not take ownership unless the filter returns EJUSTRETURN. Optional; default: 0.
     *
     * @return 0 continue, EJUSTRETURN taken, another errno drop
     */
    default int output(Ifnet ifp, int protocolFamily, Mbuf m) { return 0; }

    /**
     * An event about the interface ({@code iff_event}): link on/off, flags, MTU, addresses, protocols
     * attached/detached, detaching, power. Observe only. Runs on the thread that posted the event.
     * Optional; default: nothing.
     */
    default void event(Ifnet ifp, int protocolFamily, KernelEvent event) {}

    /**
     * An ioctl on the interface ({@code iff_ioctl}), before the protocol and the interface see it.
     * Optional; default: {@link Errno#EOPNOTSUPP} (not handled).
     *
     * @return EOPNOTSUPP not handled; 0 handled, continue; EJUSTRETURN handled, stop; other: error, stop
     */
    default int ioctl(Ifnet ifp, int protocolFamily, long command, Object argument) { return Errno.EOPNOTSUPP; }

    /**
     * The last call ({@code iff_detached}), once, after {@link InterfaceFilterRef#detach} or when the
     * interface detaches (then {@link #event} saw {@code KEV_DL_IF_DETACHING} first), and after every call
     * already inside the filter has returned. Optional; default: nothing.
     */
    default void detached(Ifnet ifp) {}
}
