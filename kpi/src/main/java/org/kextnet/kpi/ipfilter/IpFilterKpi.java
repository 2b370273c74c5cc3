package org.kextnet.kpi.ipfilter;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.mbuf.Mbuf;

/** Attaching IP filters and re-injecting packets ({@code ipf_addv4}, {@code ipf_inject_*}). */
public interface IpFilterKpi {
    /**
     * Attaches an IPv4 filter ({@code ipf_addv4}). It sees packets from the next batch on.
     * @param name     unique in the chain; shown in status and used by {@link Position#before}/{@code after}
     * @throws KpiException EEXIST (name taken in this chain), ENOENT (the position's anchor is not there)
     */
    IpFilterRef addV4(String name, Position position, IpFilter filter) throws KpiException;

    /** Attaches an IPv6 filter ({@code ipf_addv6}); it is called once the kernel speaks IPv6. */
    IpFilterRef addV6(String name, Position position, IpFilter filter) throws KpiException;

    /**
     * Injects a packet into IP input as if it had just been reassembled ({@code ipf_inject_input}): the IP
     * filters after {@code resumeAfter} (all, if null) run, then transport delivery. {@code m} starts at the IP
     * header and must have its receiving interface set ({@link Mbuf#setRcvif}). Runs on the caller's thread.
     *
     * <p>Takes ownership only on success: on error the caller still owns (and frees) the packet.
     *
     * @return 0, or EINVAL (no receiving interface, or not an IPv4 packet)
     */
    int injectInput(Mbuf m, IpFilterRef resumeAfter);

    /**
     * Injects a packet into IP output as if it had just been handed to it ({@code ipf_inject_output}): the IP
     * filters after {@code resumeAfter} (all, if null), then routing by destination, fragmentation and the
     * interface. {@code m} starts at a complete IP header. Runs on the caller's thread.
     *
     * <p>Always takes ownership, even on error.
     *
     * @return 0, or ENETUNREACH, EMSGSIZE, ENOBUFS, EINVAL as IP output returns them
     */
    int injectOutput(Mbuf m, IpFilterRef resumeAfter, IpPacketOptions options);
}
