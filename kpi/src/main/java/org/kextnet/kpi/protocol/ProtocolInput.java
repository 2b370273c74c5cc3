package org.kextnet.kpi.protocol;

import org.kextnet.kpi.mbuf.Mbuf;

/**
 * A protocol family's input ({@code proto_input_func} of {@code proto_register_input}): where
 * {@link ProtocolKpi#protoInput} and {@link ProtocolKpi#protoInject} deliver packets.
 */
public interface ProtocolInput {
    /**
     * A packet of the family, starting at its network header, with its receiving interface set. Runs on the
     * caller's thread. Takes ownership.
     */
    void input(int protocolFamily, Mbuf m);

    /**
     * The last call, once, after {@link ProtocolKpi#unregisterInput} and after every call inside
     * {@link #input} returned. Optional; default: nothing.
     */
    default void detached(int protocolFamily) {}
}
