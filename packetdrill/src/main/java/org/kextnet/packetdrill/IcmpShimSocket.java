package org.kextnet.packetdrill;

import java.nio.ByteBuffer;

import org.kextnet.kernel.wire.Ipv4;

/**
 * {@code socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)}, Linux's ping socket, as far as kextnet can have one: it
 * binds (the port is the echo identifier, as in Linux), connects, and sends ICMP echo requests through the
 * kernel's IP output, with the caller's sequence and payload, its identifier set and its checksum computed.
 * Receiving fails with EOPNOTSUPP: the kernel's ICMP hands echo replies to listeners by identifier, not whole
 * messages to sockets.
 *
 * <p>What it is for: packetdrill matches the ICMP a stack sends to the script's socket under test by addresses
 * only when that socket is an ICMP socket, and learns the stack's address from the socket's first packet out.
 * A script about the kernel's own ICMP (echo replies, port unreachable) sends one echo request from such a
 * socket, then injects packets and checks the kernel's answers.
 */
final class IcmpShimSocket extends ShimSocket {
    /** Identifiers given to unbound sockets, as Linux's ephemeral ping ports. */
    private static final int FIRST_ID = 32768;
    private static int nextId = FIRST_ID;

    private final ShimKernel kernel;
    private int localAddress, id, remoteAddress;
    private boolean connected, closed;

    IcmpShimSocket(ShimKernel kernel) { this.kernel = kernel; }

    @Override int type() { return Linux.SOCK_DGRAM; }
    @Override int protocol() { return Linux.IPPROTO_ICMP; }

    /** Nothing can be read here; a send never waits. */
    @Override int pollEvents() { return closed ? 0 : Linux.POLLOUT | Linux.POLLWRNORM | Linux.POLLWRBAND; }

    @Override int bind(int address, int port) {
        if (id != 0) return -Linux.EINVAL;
        if (address != 0 && !kernel.isLocalAddress(address)) return -Linux.EADDRNOTAVAIL;
        localAddress = address;
        id = port != 0 ? port : ephemeralId();
        return 0;
    }

    @Override int connect(int family, int address, int port) {
        if (family == Linux.AF_UNSPEC) {
            connected = false;
            return 0;
        }
        if (id == 0) id = ephemeralId();
        remoteAddress = address;
        connected = true;
        return 0;
    }

    /** An echo request: at least the 8-byte ICMP header, type 8 code 0, as Linux's ping sockets require. */
    @Override int send(ByteBuffer src, int flags, int toAddress, int toPort) {
        if (closed) return -Linux.EBADF;
        int dst;
        if (toPort >= 0) dst = toAddress;
        else if (connected) dst = remoteAddress;
        else return -Linux.EDESTADDRREQ;
        int len = src.remaining();
        if (len < 8) return -Linux.EINVAL;
        if (len > Ipv4.MAX_PACKET - Ipv4.MIN_HEADER) return -Linux.EMSGSIZE;
        if ((src.get(src.position()) & 0xff) != 8 || src.get(src.position() + 1) != 0) return -Linux.EINVAL;
        if (id == 0) id = ephemeralId();
        byte[] message = new byte[len];
        src.get(message);
        int e = kernel.sendIcmpEcho(localAddress, dst, id, message);
        return e == 0 ? len : -e;
    }

    @Override int receive(ByteBuffer dst, int flags, int[] meta) {
        return -Linux.EOPNOTSUPP;
    }

    @Override void close() { closed = true; }

    private static synchronized int ephemeralId() {
        int i = nextId;
        nextId = nextId == 0xffff ? FIRST_ID : nextId + 1;
        return i;
    }

    @Override public String toString() {
        return "icmp " + (localAddress == 0 ? "*" : Ipv4.format(localAddress)) + " id " + id
                + (connected ? " > " + Ipv4.format(remoteAddress) : "");
    }
}
