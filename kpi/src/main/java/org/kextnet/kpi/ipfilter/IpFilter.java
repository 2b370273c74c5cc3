package org.kextnet.kpi.ipfilter;

import org.kextnet.kpi.mbuf.Mbuf;

/**
 * An IP filter ({@code struct ipf_filter}). The filter object is xnu's cookie: keep your state in it.
 * Every callback is optional; a filter that overrides only {@link #input} costs nothing on output.
 *
 * <p>Callbacks run concurrently on several threads, must not block, and may call back into the KPI
 * (inject, remove this filter). A callback that throws gives up the packet: the kernel drops it (or passes
 * it, if so configured), counts the fault, and removes the filter after repeated faults.
 */
public interface IpFilter {
    /**
     * A packet for this host ({@code ipf_input}), after header checks and reassembly, before transport
     * delivery; once per encapsulation layer. {@code m} starts at the IP header.
     *
     * <p>Does not take ownership, unless the filter returns {@link org.kextnet.kpi.Errno#EJUSTRETURN}; may
     * modify the packet in place (fix the checksums it changes).
     *
     * <p>Optional; default: 0 (continue).
     *
     * @param offset   where the next header (the transport header) starts, from {@code m.offset()}
     * @param protocol the protocol of the next header (17 for UDP, 1 for ICMP, ...)
     * @return 0 to continue, {@code EJUSTRETURN} if the filter took the packet, another errno to drop it
     */
    default int input(Mbuf m, int offset, int protocol) { return 0; }

    /**
     * A packet IP is about to send ({@code ipf_output}), with its complete IP header, after routing and before
     * fragmentation: locally generated, or forwarded (as in xnu, where {@code ip_forward} goes through
     * {@code ip_output}; a forwarded packet has {@link Mbuf#F_FORWARDED} set). To change its destination, re-inject a new packet with
     * {@link IpFilterKpi#injectOutput} and return {@link org.kextnet.kpi.Errno#EJUSTRETURN}.
     *
     * <p>Does not take ownership, unless the filter returns {@code EJUSTRETURN}; may modify the packet.
     *
     * <p>Optional; default: 0 (continue).
     *
     * @param options the packet's options (multicast settings), or null if it has none; preserve them when
     *                re-injecting
     * @return 0 to continue, {@code EJUSTRETURN} if the filter took the packet, another errno to drop it
     */
    default int output(Mbuf m, IpPacketOptions options) { return 0; }

    /**
     * The last call ({@code ipf_detach}), once, after {@link IpFilterRef#remove} and after every call already
     * inside {@code input} and {@code output} has returned. From here on the kernel holds no reference to the
     * filter. Runs on the kernel's reclaim thread.
     *
     * <p>Optional; default: nothing.
     */
    default void detached() {}
}
