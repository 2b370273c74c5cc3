package org.kextnet.kernel.inet.tcp;

/**
 * What a listener tells the layer above it. Calls come with no TCP lock held, on the packet thread that
 * received the segment, and must not block.
 */
public interface TcpListenUpcall {
    /**
     * A SYN (or a SYN cookie's ACK) asks for a connection ({@code sf_connect_in}), before any state is made.
     * @return 0 to go on; an errno refuses it and the segment is dropped without reply (as xnu drops a SYN its
     *         filters refuse)
     */
    default int connectIn(TcpListener listener, TcpEndpoint remote, TcpEndpoint local) { return 0; }

    /**
     * A connection is being made for the listener, before anyone else can see it (xnu's {@code sonewconn}):
     * returns the upcall it will report to. {@code child} is in SYN-RECEIVED (or ESTABLISHED from a SYN
     * cookie); it reaches {@link TcpListener#accept} once established.
     */
    TcpUpcall newConnection(TcpListener listener, TcpConnection child);

    /** The accept queue became non-empty, or the listener was closed. */
    void acceptable(TcpListener listener);
}
