package org.kextnet.kpi.domain;

import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;

/** A socket of an extension's protocol, as the protocol sees it: where it delivers data and keeps state. */
public interface ProtocolSocket extends Socket {
    /** The protocol's per-socket state ({@code so_pcb}), or null. */
    Object pcb();

    void setPcb(Object pcb);

    /**
     * Appends a datagram from {@code from} to the socket's receive queue ({@code sbappendaddr}), waking a
     * reader. The socket filters' {@code dataIn} run first. Takes ownership.
     * @return 0, or ENOBUFS (queue full; dropped and counted)
     */
    int deliver(SockAddr from, Mbuf data);

    /** Sets the local address reported for the socket (after bind). */
    void setLocalAddress(SockAddr address);

    /** Sets the peer address reported for the socket (after connect). */
    void setRemoteAddress(SockAddr address);
}
