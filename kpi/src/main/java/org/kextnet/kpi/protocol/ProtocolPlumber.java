package org.kextnet.kpi.protocol;

import org.kextnet.kpi.net.Ifnet;

/**
 * Attaches a protocol family to interfaces of one family ({@code proto_plumb_handler} and
 * {@code proto_unplumb_handler}). Runs on the thread that attaches the interface or registers the plumber.
 */
public interface ProtocolPlumber {
    /**
     * Attach {@code protocolFamily} to {@code ifp}, normally with {@link ProtocolKpi#attachProtocol}.
     * @return 0, or an errno (the interface then runs without this protocol)
     */
    int plumb(Ifnet ifp, int protocolFamily);

    /**
     * Detach {@code protocolFamily} from {@code ifp} (the plumber is being unregistered, or an administrator
     * unplumbs it). Optional; default: nothing, and the kernel detaches the protocol itself.
     */
    default void unplumb(Ifnet ifp, int protocolFamily) {}
}
