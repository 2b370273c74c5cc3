package org.kextnet.kpi.socket;

/**
 * A socket as extensions see it ({@code socket_t}): identity and addresses. Valid as a Java reference
 * forever; once closed, {@link #isClosed()} is true.
 */
public interface Socket {
    /** The domain ({@code PF_INET}, ...). */
    int family();

    /** {@link SocketConstants#SOCK_DGRAM}, {@code SOCK_STREAM}, {@code SOCK_RAW}. */
    int type();

    /** The protocol ({@link SocketConstants#IPPROTO_UDP}, ...). */
    int protocol();

    /** The local address, or null if unbound (allocates: a copy). */
    SockAddr localAddress();

    /** The peer address, or null if not connected (allocates: a copy). */
    SockAddr remoteAddress();

    /** Whether the socket is connected (has a default peer). */
    boolean isConnected();

    boolean isClosed();
}
