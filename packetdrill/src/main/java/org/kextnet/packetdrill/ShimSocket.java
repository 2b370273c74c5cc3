package org.kextnet.packetdrill;

import java.nio.ByteBuffer;

/**
 * One kernel socket as packetdrill's calls see it: the adapter a protocol writes to be scriptable (TCP, UDP,
 * ICMP). Every method is one attempt that never blocks and speaks Linux: it returns a count or 0, or a
 * negative Linux errno. {@code -EAGAIN} means "would block": the shim then waits on virtual time until
 * {@link #pollEvents} changes (or the socket's timeout passes) and tries again, so a protocol implements
 * blocking once, by reporting readiness. {@code connect} may likewise return {@code -EINPROGRESS}; the shim waits
 * for {@code POLLOUT} or {@code POLLERR} and then reports {@link #takeError}.
 *
 * <p>Calls come with the shim's lock held (one at a time); the kernel may change the socket's state between
 * them from packet input and timers. Buffers passed in are the caller's, valid during the call only.
 */
abstract class ShimSocket {
    /** The outcome of {@link #accept}: a connection and its peer, or an errno. */
    record Accepted(int errno, ShimSocket socket, int peerAddress, int peerPort) {
        static Accepted error(int errno) { return new Accepted(errno, null, 0, 0); }
    }

    /** Indices into the {@code meta} array of {@link #receive}. */
    static final int META_FAMILY = 0, META_ADDRESS = 1, META_PORT = 2, META_FLAGS = 3, META_LENGTH = 4;

    abstract int type();
    abstract int protocol();

    /**
     * What Linux's {@code poll} would report now, before masking with the requested events: {@code POLLIN |
     * POLLRDNORM} when a read would not block, {@code POLLOUT | POLLWRNORM | POLLWRBAND} when a write would not,
     * {@code POLLERR} with a pending error, {@code POLLRDHUP} and {@code POLLHUP} after shutdowns.
     */
    abstract int pollEvents();

    int bind(int address, int port) { return -Linux.EOPNOTSUPP; }

    /** {@code connect} to {@code family} (AF_INET, or AF_UNSPEC to dissolve an association) {@code address:port}. */
    int connect(int family, int address, int port) { return -Linux.EOPNOTSUPP; }

    int listen(int backlog) { return -Linux.EOPNOTSUPP; }

    Accepted accept() { return Accepted.error(Linux.EOPNOTSUPP); }

    /**
     * Sends the remaining bytes of {@code src}.
     * @param toAddress with {@code toPort > 0} the destination of {@code sendto}; {@code toPort < 0}: none given
     * @return bytes taken, or a negative errno
     */
    abstract int send(ByteBuffer src, int flags, int toAddress, int toPort);

    /**
     * Receives into {@code dst} (up to its remaining bytes). Fills {@code meta}: {@link #META_FAMILY} (0 if there
     * is no source address), {@link #META_ADDRESS}, {@link #META_PORT}, {@link #META_FLAGS} (MSG_TRUNC if a
     * datagram was cut) and {@link #META_LENGTH} (the datagram's whole length).
     * @return bytes copied, 0 at end of data, or a negative errno ({@code -EAGAIN}: nothing yet)
     */
    abstract int receive(ByteBuffer dst, int flags, int[] meta);

    int shutdown(int how) { return -Linux.EOPNOTSUPP; }

    /** A protocol's own option ({@code SO_TYPE}, timeouts and {@code SO_ERROR} are the shim's): bytes written to {@code out}, or an errno. */
    int getOption(int level, int name, ByteBuffer out) { return -Linux.ENOPROTOOPT; }

    int setOption(int level, int name, ByteBuffer value) { return -Linux.ENOPROTOOPT; }

    /** A protocol's ioctl ({@code FIONBIO} is the shim's); {@code arg[0]} is the int argument or result. */
    int ioctl(long request, int[] arg) { return -Linux.ENOTTY; }

    /**
     * How many times something arrived that wakes a Linux epoll waiter (a datagram, a segment, a connection, a
     * state change), counted since the socket opened; {@code EPOLLET} reports a descriptor again when this moved,
     * even if it was ready all along. A protocol that does not count returns 0, and then only a readiness bit
     * that was clear at the last {@code epoll_wait} is an edge.
     */
    long eventCount() { return 0; }

    /** The pending error ({@code SO_ERROR}), cleared by reading it; 0 if none. */
    int takeError() { return 0; }

    abstract void close();
}
