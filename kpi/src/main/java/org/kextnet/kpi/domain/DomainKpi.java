package org.kextnet.kpi.domain;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Registration;

/** Adding and removing protocols of a domain ({@code net_add_proto}, {@code net_del_proto}). */
public interface DomainKpi {
    /** An added protocol. */
    interface ProtocolRef extends Registration {
        int domain();

        ProtocolSwitch protocolSwitch();

        /** Sockets of the protocol open now. */
        int socketCount();
    }

    /**
     * Adds a protocol to a domain ({@code net_add_proto}). For {@code PF_INET}, IP delivers packets of
     * {@link ProtocolSwitch#protocol()} to it (unless the kernel implements that protocol itself).
     * @throws KpiException EEXIST if the domain has a protocol of that (type, protocol), EPFNOSUPPORT-like
     *         EAFNOSUPPORT for an unknown domain
     */
    ProtocolRef addProtocol(int domain, ProtocolSwitch protocol) throws KpiException;

    /**
     * Removes a protocol ({@code net_del_proto}): no new socket of it can be opened and IP stops delivering
     * to it; {@link ProtocolSwitch#removed} follows once in-flight calls returned.
     * @return 0, EBUSY while sockets of it are open, ENOENT if not added
     */
    int removeProtocol(ProtocolRef ref);
}
