package org.kextnet.kernel.socket;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;

/**
 * A kernel socket that socket filters attach to: it owns a {@link SocketFilterSet} and takes data that a
 * filter re-injects. UDP sockets now, TCP sockets when TCP lands.
 */
public interface FilteredSocket extends Socket {
    /** The socket's filters. */
    SocketFilterSet filters();

    /**
     * Queues re-injected received data (the payload) from {@code from} after the filters that follow
     * {@code resumeAfter}. Takes ownership only on success.
     * @return 0, EBADF (closed), ENOBUFS (queue full)
     */
    int injectIn(SockAddr from, Packet data, int resumeAfter);

    /**
     * Sends re-injected data after the filters that follow {@code resumeAfter}. Always takes ownership.
     * @param to the destination, or null for the connected peer
     * @return 0 or the protocol's error
     */
    int injectOut(SockAddr to, Packet data, int resumeAfter);
}
