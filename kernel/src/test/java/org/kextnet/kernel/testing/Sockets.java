package org.kextnet.kernel.testing;

import java.nio.ByteBuffer;
import java.util.Arrays;

import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.socket.SocketError;

/** Small UDP socket helpers for tests. */
public final class Sockets {
    private Sockets() {}

    /** The payload of the next queued datagram, or null if none is waiting. */
    public static byte[] tryReceive(UdpSocket so) throws SocketError {
        ByteBuffer b = ByteBuffer.allocate(65536);
        UdpDatagram d = so.tryReceive(b);
        return d == null ? null : Arrays.copyOf(b.array(), d.length());
    }
}
