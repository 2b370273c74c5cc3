package org.kextnet.kpi.socketfilter;

import org.kextnet.kpi.socket.Socket;

/**
 * One filter attached to one socket; every callback receives it. It carries the per-attachment cookie
 * ({@code void *cookie} of xnu) and the socket. Valid from {@link SocketFilter#attach} until
 * {@link SocketFilter#detach} returns.
 */
public interface SocketAttachment {
    /** The socket. */
    Socket socket();

    /** The filter's per-socket state, or null. */
    Object cookie();

    /** Sets the per-socket state (usually in {@link SocketFilter#attach}). */
    void setCookie(Object cookie);

    /** The filter's handle. */
    int handle();
}
