package org.kextnet.packetdrill;

import java.nio.ByteBuffer;

import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.socket.SocketError;

/**
 * A kernel {@link UdpSocket} as packetdrill's calls see it. A read takes the next datagram out of the kernel
 * whole (into a buffer of the largest datagram's size), so that {@code MSG_PEEK} can leave it for the next read
 * and {@code MSG_TRUNC} can report its length; the datagram waits here until a read without {@code MSG_PEEK}
 * takes it. {@code SO_REUSEADDR} and {@code SO_REUSEPORT} are accepted and remembered (kextnet binds one
 * socket per port either way); other options are ENOPROTOOPT.
 */
final class UdpShimSocket extends ShimSocket {
    private final UdpSocket so;
    /** The datagram read out of the kernel and not yet consumed (after a MSG_PEEK), or null. */
    private byte[] held;
    private int heldAddress, heldPort;
    private ByteBuffer scratch;
    private int reuseAddress, reusePort;
    /** Datagrams seen arriving: the kernel's queue only grows by arrivals, and only this adapter takes from it. */
    private long arrivals;
    private int lastQueued;

    UdpShimSocket(ShimKernel kernel) { this.so = kernel.openUdp(); }

    @Override int type() { return Linux.SOCK_DGRAM; }
    @Override int protocol() { return Linux.IPPROTO_UDP; }

    /** As Linux's {@code udp_poll}: readable with a datagram or after shutdown of reading, always writable. */
    @Override int pollEvents() {
        int ev = Linux.POLLOUT | Linux.POLLWRNORM | Linux.POLLWRBAND;
        if (held != null || queued() > 0) ev |= Linux.POLLIN | Linux.POLLRDNORM;
        if (so.cantReceiveMore()) ev |= Linux.POLLIN | Linux.POLLRDNORM | Linux.POLLRDHUP;
        if (so.cantReceiveMore() && so.cantSendMore()) ev |= Linux.POLLHUP;
        return ev;
    }

    @Override int bind(int address, int port) {
        try {
            so.bind(address, port);
            return 0;
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    @Override int connect(int family, int address, int port) {
        try {
            if (family == Linux.AF_UNSPEC) { // Linux dissolves the association, connected or not
                if (so.isConnected()) so.disconnect();
                return 0;
            }
            so.connect(address, port);
            return 0;
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    @Override int send(ByteBuffer src, int flags, int toAddress, int toPort) {
        try {
            if (toPort < 0) {
                if (!so.isConnected()) return -Linux.EDESTADDRREQ;
                return so.send(src);
            }
            return so.send(src, toAddress, toPort);
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    @Override int receive(ByteBuffer dst, int flags, int[] meta) {
        if (held == null) {
            if (scratch == null) scratch = ByteBuffer.allocate(UdpSocket.MAX_PAYLOAD);
            scratch.clear();
            UdpDatagram d;
            queued(); // count what arrived before this read takes one
            try {
                d = so.tryReceive(scratch);
            } catch (SocketError e) {
                return -Linux.errno(e.errno());
            }
            if (d == null) return so.cantReceiveMore() ? 0 : -Linux.EAGAIN;
            lastQueued--;
            held = new byte[d.length()];
            scratch.flip().get(held);
            heldAddress = d.sourceAddress();
            heldPort = d.sourcePort();
        }
        int n = Math.min(held.length, dst.remaining());
        dst.put(held, 0, n);
        meta[META_FAMILY] = Linux.AF_INET;
        meta[META_ADDRESS] = heldAddress;
        meta[META_PORT] = heldPort;
        meta[META_LENGTH] = held.length;
        if (n < held.length) meta[META_FLAGS] |= Linux.MSG_TRUNC;
        if ((flags & Linux.MSG_PEEK) == 0) held = null;
        return n;
    }

    @Override long eventCount() {
        queued();
        return arrivals;
    }

    /** The kernel's queue length, counting what arrived since the last look. */
    private int queued() {
        int n = so.available();
        if (n > lastQueued) arrivals += n - lastQueued;
        lastQueued = n;
        return n;
    }

    @Override int shutdown(int how) {
        try {
            so.shutdown(how);
            if (how != Linux.SHUT_WR) held = null; // what waits to be read is discarded
            return 0;
        } catch (SocketError e) {
            return -Linux.errno(e.errno());
        }
    }

    @Override int getOption(int level, int name, ByteBuffer out) {
        if (level != Linux.SOL_SOCKET) return -Linux.ENOPROTOOPT;
        return switch (name) {
            case Linux.SO_REUSEADDR -> putInt(out, reuseAddress);
            case Linux.SO_REUSEPORT -> putInt(out, reusePort);
            default -> -Linux.ENOPROTOOPT;
        };
    }

    @Override int setOption(int level, int name, ByteBuffer value) {
        if (level != Linux.SOL_SOCKET || (name != Linux.SO_REUSEADDR && name != Linux.SO_REUSEPORT)) return -Linux.ENOPROTOOPT;
        if (value.remaining() < 4) return -Linux.EINVAL;
        int v = value.getInt(value.position()) != 0 ? 1 : 0;
        if (name == Linux.SO_REUSEADDR) reuseAddress = v; else reusePort = v;
        return 0;
    }

    /**
     * {@code FIONREAD}: as Linux for UDP, the length of the next datagram (0 with none); {@code SIOCOUTQ}: 0, as a
     * send hands its datagram to IP before it returns.
     */
    @Override int ioctl(long request, int[] arg) {
        if (request == Linux.SIOCOUTQ) {
            arg[0] = 0;
            return 0;
        }
        if (request != Linux.FIONREAD) return -Linux.ENOTTY;
        if (held != null) {
            arg[0] = held.length;
            return 0;
        }
        int[] out = new int[1];
        int e = so.ioctl(UdpSocket.FIONREAD, out);
        if (e != 0) return -Linux.errno(e);
        arg[0] = out[0];
        return 0;
    }

    @Override void close() {
        held = null;
        so.close();
    }

    static int putInt(ByteBuffer out, int v) {
        int n = Math.min(4, out.remaining());
        for (int i = 0; i < n; i++) out.put(out.position() + i, (byte) (v >>> (8 * i))); // little-endian, as x86-64
        return n;
    }

    @Override public String toString() { return so.toString(); }
}
