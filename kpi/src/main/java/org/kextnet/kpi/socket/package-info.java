/**
 * Sockets as extensions see them ({@code kpi_socket.h}): the {@link org.kextnet.kpi.socket.Socket} handle,
 * socket addresses and socket options.
 */
package org.kextnet.kpi.socket;
