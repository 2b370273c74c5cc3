package org.kextnet.packetdrill;

/**
 * A descriptor of the shim's table: a socket with the per-descriptor state Linux keeps outside the protocol
 * (non-blocking mode, close-on-exec, the receive and send timeouts), or an epoll instance.
 */
sealed interface OpenFile permits SocketFile, EpollFile {
    /** What {@code poll} would report (before masking), as {@link ShimSocket#pollEvents}. */
    int pollEvents();

    /** Whether the descriptor has been closed (a call parked on it then fails with EBADF). */
    boolean isClosed();

    void close();

    /** {@code O_NONBLOCK}, {@code FD_CLOEXEC}. */
    boolean nonblocking();
    void setNonblocking(boolean on);
    boolean cloexec();
    void setCloexec(boolean on);
}
