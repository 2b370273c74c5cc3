package org.kextnet.kpi.ipfilter;

import org.kextnet.kpi.net.Ifnet;

/**
 * Options of an outgoing packet ({@code ipf_pktopts}), given to {@link IpFilter#output} and back to
 * {@link IpFilterKpi#injectOutput} so they survive re-injection.
 *
 * @param flags             {@link #MCAST_OPTS} when the multicast fields are set
 * @param multicastIfnet    the interface to send multicast on, or null
 * @param multicastTtl      the multicast TTL
 * @param multicastLoop     whether multicast is looped back to this host
 */
public record IpPacketOptions(int flags, Ifnet multicastIfnet, int multicastTtl, boolean multicastLoop) {
    /** The multicast fields are valid ({@code IPPOF_MCAST_OPTS}). */
    public static final int MCAST_OPTS = 0x1;
}
