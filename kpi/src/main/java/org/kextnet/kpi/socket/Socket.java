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

    /** The local address as the protocol has it, or null if unbound (a copy; socket filters are not asked). */
    SockAddr sockName();

    /** The peer address as the protocol has it, or null if not connected (a copy; socket filters are not asked). */
    SockAddr peerName();

    /** Whether the socket is connected (has a default peer). */
    boolean isConnected();

    boolean isClosed();
}
