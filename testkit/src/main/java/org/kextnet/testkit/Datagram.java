package org.kextnet.testkit;

import org.kextnet.kpi.socket.SockAddr;

/**
 * One datagram a {@link TestSocket} received.
 *
 * @param from the sender (for UDP its address and port)
 * @param data the payload, a copy the test owns
 */
public record Datagram(SockAddr from, byte[] data) {}
