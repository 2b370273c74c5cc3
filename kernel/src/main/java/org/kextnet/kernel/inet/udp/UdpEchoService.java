package org.kextnet.kernel.inet.udp;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.Scratch;
import org.kextnet.kernel.socket.DatagramQueue;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;

/**
 * The echo service (RFC 862) on UDP, port 7 by default: an ordinary socket, so socket filters see every
 * datagram it receives and sends. It is served on the packet thread that queued the datagrams (the socket's
 * {@link UdpSocket#setReadUpcall read upcall}, as an xnu kernel service sits on {@code sock_upcall}): each is
 * taken as a packet buffer and sent back in the same buffer, the headers rebuilt in its headroom, so echoing
 * copies no payload and hands nothing to another thread.
 *
 * <p>It never answers a datagram to a broadcast or multicast address (that would make it an amplifier), nor
 * one "from" a small service's port or its own (two echo services, or echo and chargen, would answer each other
 * for ever: inetd's {@code check_loop}); those are counted in {@link Stat#UDP_ECHO_REFUSED} and dropped.
 */
public final class UdpEchoService implements AutoCloseable {
    public static final int PORT = 7;

    private final UdpSocket socket;

    private UdpEchoService(UdpSocket socket) {
        this.socket = socket;
    }

    /** Starts the service on {@code port}. */
    public static UdpEchoService start(UdpLayer udp, int port) throws SocketError {
        UdpSocket so = udp.open();
        so.setReadUpcall(UdpEchoService::drain);
        try {
            so.bind(0, port);
        } catch (SocketError e) {
            so.close();
            throw e;
        }
        return new UdpEchoService(so);
    }

    /** Each thread's sender of the datagram it echoes (address, port, flags), so that echoing allocates nothing. */
    private static final Scratch<int[]> FROM = Scratch.of(() -> new int[3]);

    /** Echoes every datagram waiting. */
    private static void drain(PacketContext ctx, UdpSocket so) {
        int[] from = ctx.scratch(FROM);
        while (true) {
            Packet m;
            try {
                m = so.receivePacket(from);
            } catch (SocketError e) {
                return; // closed, or an ICMP error about an echo we sent (nobody to tell): nothing to answer
            }
            if (m == null) return;
            int port = from[1];
            if ((from[2] & (DatagramQueue.MSG_BCAST | DatagramQueue.MSG_MCAST)) != 0
                    || isServicePort(port) || port == so.localPort()) {
                ctx.stats().inc(Stat.UDP_ECHO_REFUSED);
                m.free();
                continue;
            }
            m.setFlags(0);
            m.setCsumFlags(0);
            so.send(ctx, m, from[0], port); // an error (no route, no buffer) is counted where it happened
        }
    }

    /** Port 0 and the answering small services (echo, discard, daytime, chargen, time). */
    static boolean isServicePort(int port) {
        return port == 0 || port == 7 || port == 9 || port == 13 || port == 19 || port == 37;
    }

    public int port() { return socket.localPort(); }

    /** The service's socket (for listings and tests). */
    public UdpSocket socket() { return socket; }

    @Override public void close() { socket.close(); }
}
