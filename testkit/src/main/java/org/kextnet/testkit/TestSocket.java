package org.kextnet.testkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.domain.ProtocolSocketImpl;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.socket.KernelSocket;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;

/**
 * An application's socket in an {@link EmbeddedKernel}: a UDP socket ({@link EmbeddedKernel#openUdp}) or a socket
 * of a protocol an extension added ({@link EmbeddedKernel#openSocket}). Every call goes through the socket
 * filters as an application's would, on the calling thread. A refused call throws an {@link IOException} whose
 * message starts with the errno's name ("EADDRINUSE: ...").
 */
public final class TestSocket implements AutoCloseable {
    /** Room for the largest datagram. */
    private static final int MAX_DATAGRAM = 65536;

    private final KernelSocket so;
    private final UdpSocket udp;           // one of these two
    private final ProtocolSocketImpl proto;

    TestSocket(UdpSocket udp) {
        this.so = udp;
        this.udp = udp;
        this.proto = null;
    }

    TestSocket(ProtocolSocketImpl proto) {
        this.so = proto;
        this.udp = null;
        this.proto = proto;
    }

    /** The socket as extensions see it (what a socket filter's {@code SocketAttachment.socket()} returns). */
    public Socket socket() { return so; }

    public void bind(SockAddr local) throws IOException { so.bind(local); }

    public void connect(SockAddr peer) throws IOException { so.connect(peer); }

    /** {@code setsockopt} with an int value ({@code SO_NKE} attaches a programmatic socket filter by handle). */
    public void setOption(int level, int name, int value) throws IOException { so.setOption(level, name, value); }

    public void setOption(int level, int name, byte[] value) throws IOException { so.setOption(level, name, value); }

    /** {@code getsockopt}: the option's value as the protocol or a filter returned it. */
    public byte[] getOption(int level, int name) throws IOException { return so.getOption(level, name); }

    /** {@code shutdown}: {@code SHUT_RD}, {@code SHUT_WR} or {@code SHUT_RDWR}. */
    public void shutdown(int how) throws IOException { so.shutdown(how); }

    /**
     * Sends {@code data} as one datagram to {@code to}, or to the connected peer if {@code to} is null.
     * @return the bytes sent
     */
    public int send(byte[] data, SockAddr to) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (udp != null) return to == null ? udp.send(b) : udp.send(b, to.ipv4(), to.port());
        return proto.send(b, to);
    }

    /** Datagrams waiting. */
    public int available() { return udp != null ? udp.available() : proto.available(); }

    /** The next datagram, waiting up to {@code timeout}; null if none came in time. */
    public Datagram receive(long timeout, TimeUnit unit) throws IOException, InterruptedException {
        ByteBuffer b = ByteBuffer.allocate(MAX_DATAGRAM);
        if (udp != null) {
            UdpDatagram d = udp.receive(b, timeout, unit);
            return d == null ? null : new Datagram(SockAddr.of(d.sourceAddress(), d.sourcePort()), Arrays.copyOf(b.array(), d.length()));
        }
        SockAddr from = proto.receive(b, timeout, unit);
        return from == null ? null : new Datagram(from, Arrays.copyOf(b.array(), b.position()));
    }

    /** The next datagram if one is waiting, else null at once. */
    public Datagram tryReceive() throws IOException {
        try {
            return receive(0, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** Closes the socket (the filters see it detach); idempotent. */
    @Override public void close() { so.close(); }
}
