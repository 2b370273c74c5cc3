/**
 * Socket filters ({@code kpi_socketfilter.h}): hooks between the socket layer and a protocol, attached per
 * socket. A filter is registered for a (domain, type, protocol); {@link
 * org.kextnet.kpi.socketfilter.SocketFilterParams#FLAG_GLOBAL global} filters attach to every new matching
 * socket, {@link org.kextnet.kpi.socketfilter.SocketFilterParams#FLAG_PROG programmatic} ones only when the
 * application sets {@link org.kextnet.kpi.socket.SocketConstants#SO_NKE} with the filter's handle.
 *
 * <p>Callbacks run on the thread of the socket call (the application's) or, for {@code dataIn} and
 * notifications of received data, on the receiving packet thread. They must not block on other sockets.
 * Per-socket state lives in the {@link org.kextnet.kpi.socketfilter.SocketAttachment}.
 */
package org.kextnet.kpi.socketfilter;
