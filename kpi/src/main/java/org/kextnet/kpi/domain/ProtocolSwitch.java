package org.kextnet.kpi.domain;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.socket.SockAddr;

/**
 * A protocol of a domain ({@code struct protosw} with its user requests {@code pr_usrreqs}). The kernel calls
 * {@link #input} for packets of the protocol, and the socket methods for the requests of applications on
 * sockets of ({@link #type()}, {@link #protocol()}). Socket requests run on the application's thread,
 * input on the packet thread.
 */
public interface ProtocolSwitch {
    /** The socket type ({@code SOCK_RAW}, {@code SOCK_DGRAM}, ...). */
    int type();

    /** The protocol number (for the inet domain, the IP protocol number). */
    int protocol();

    /**
     * A packet for this protocol ({@code pr_input}). For the inet domain: after the IP filters, {@code m}
     * starts at the IP header and the protocol's header starts at {@code offset}. Takes ownership.
     * Optional; default: frees the packet.
     */
    default void input(Mbuf m, int offset) { m.free(); }

    /** A socket of this protocol is created ({@code pru_attach}). @return 0 or an errno refusing it */
    default int attach(ProtocolSocket so) { return 0; }

    /** A socket closes ({@code pru_detach}); the last call for it. */
    default void detach(ProtocolSocket so) {}

    /** bind ({@code pru_bind}). Optional; default: records the address. */
    default int bind(ProtocolSocket so, SockAddr address) {
        so.setLocalAddress(address.copy());
        return 0;
    }

    /** connect ({@code pru_connect}). Optional; default: records the peer. */
    default int connect(ProtocolSocket so, SockAddr address) {
        so.setRemoteAddress(address.copy());
        return 0;
    }

    /**
     * Data to send ({@code pru_send}), after the socket filters. Takes ownership.
     * @param to the destination, or null for the connected peer
     * Optional; default: frees the data and returns {@link Errno#EOPNOTSUPP}.
     */
    default int send(ProtocolSocket so, Mbuf data, SockAddr to, int flags) {
        data.free();
        return Errno.EOPNOTSUPP;
    }

    /** shutdown ({@code pru_shutdown}). */
    default int shutdown(ProtocolSocket so, int how) { return 0; }

    /** The last call, once, after the protocol was removed and every call inside it returned. */
    default void removed() {}
}
