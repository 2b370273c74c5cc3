package org.kextnet.packetdrill;

import org.kextnet.kpi.Errno;

/**
 * The Linux (x86-64) numbers packetdrill's scripts and its shim interface speak: address families, socket
 * types, options, flags, poll and epoll bits, and error numbers. The kernel speaks xnu's numbers
 * ({@link Errno}, {@code SocketConstants}); {@link #errno} translates.
 */
final class Linux {
    private Linux() {}

    static final int AF_UNSPEC = 0, AF_INET = 2, AF_INET6 = 10;
    static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3;
    static final int SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000, SOCK_TYPE_MASK = 0xf;
    static final int IPPROTO_IP = 0, IPPROTO_ICMP = 1, IPPROTO_TCP = 6, IPPROTO_UDP = 17;

    static final int SOL_SOCKET = 1;
    static final int SO_REUSEADDR = 2, SO_TYPE = 3, SO_ERROR = 4, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_KEEPALIVE = 9,
            SO_OOBINLINE = 10, SO_LINGER = 13, SO_REUSEPORT = 15, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21,
            SO_ACCEPTCONN = 30, SO_PROTOCOL = 38, SO_DOMAIN = 39;

    /** Level {@code SOL_TCP} ({@code IPPROTO_TCP}). */
    static final int TCP_NODELAY = 1, TCP_MAXSEG = 2, TCP_CORK = 3, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5,
            TCP_KEEPCNT = 6, TCP_SYNCNT = 7, TCP_INFO = 11, TCP_CONGESTION = 13, TCP_USER_TIMEOUT = 18;
    /** {@code tcpi_state}: Linux's numbering of the TCP states. */
    static final int TCP_ESTABLISHED = 1, TCP_SYN_SENT = 2, TCP_SYN_RECV = 3, TCP_FIN_WAIT1 = 4, TCP_FIN_WAIT2 = 5,
            TCP_TIME_WAIT = 6, TCP_CLOSE = 7, TCP_CLOSE_WAIT = 8, TCP_LAST_ACK = 9, TCP_LISTEN = 10, TCP_CLOSING = 11;
    /** {@code tcpi_ca_state} and {@code tcpi_options}. */
    static final int TCP_CA_OPEN = 0, TCP_CA_RECOVERY = 3, TCPI_OPT_TIMESTAMPS = 1, TCPI_OPT_SACK = 2, TCPI_OPT_WSCALE = 4;

    static final int MSG_OOB = 0x1, MSG_PEEK = 0x2, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_EOR = 0x80,
            MSG_WAITALL = 0x100, MSG_ERRQUEUE = 0x2000, MSG_NOSIGNAL = 0x4000, MSG_MORE = 0x8000,
            MSG_ZEROCOPY = 0x4000000, MSG_FASTOPEN = 0x20000000;

    static final int O_NONBLOCK = 0x800;
    static final int F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4;
    static final int FD_CLOEXEC = 1;
    static final long FIONREAD = 0x541b, FIONBIO = 0x5421, SIOCOUTQ = 0x5411, SIOCATMARK = 0x8905;

    static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;

    static final int POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20,
            POLLRDNORM = 0x40, POLLWRNORM = 0x100, POLLWRBAND = 0x200, POLLRDHUP = 0x2000;

    static final int EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLRDHUP = 0x2000,
            EPOLLONESHOT = 1 << 30, EPOLLET = 1 << 31;
    static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;

    static final int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, ENXIO = 6, EBADF = 9, EAGAIN = 11, ENOMEM = 12,
            EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22, EMFILE = 24, ENOTTY = 25, ENOSPC = 28,
            EPIPE = 32, EDOM = 33, ENOSYS = 38, ENOTSOCK = 88, EDESTADDRREQ = 89, EMSGSIZE = 90, EPROTOTYPE = 91,
            ENOPROTOOPT = 92, EPROTONOSUPPORT = 93, EOPNOTSUPP = 95, EAFNOSUPPORT = 97, EADDRINUSE = 98,
            EADDRNOTAVAIL = 99, ENETDOWN = 100, ENETUNREACH = 101, ECONNABORTED = 103, ECONNRESET = 104,
            ENOBUFS = 105, EISCONN = 106, ENOTCONN = 107, ETIMEDOUT = 110, ECONNREFUSED = 111, EHOSTUNREACH = 113,
            EALREADY = 114, EINPROGRESS = 115;

    /**
     * The Linux number of a kernel (xnu) error number. {@link Errno#EJUSTRETURN} never reaches here (the socket
     * layer turns it into success); an errno without a Linux twin becomes EIO, which no script expects.
     */
    static int errno(int xnu) {
        return switch (xnu) {
            case Errno.EPERM -> EPERM;
            case Errno.ENOENT -> ENOENT;
            case Errno.EINTR -> EINTR;
            case Errno.EIO -> EIO;
            case Errno.ENXIO -> ENXIO;
            case Errno.EBADF -> EBADF;
            case Errno.ENOMEM -> ENOMEM;
            case Errno.EACCES -> EACCES;
            case Errno.EFAULT -> EFAULT;
            case Errno.EBUSY -> EBUSY;
            case Errno.EEXIST -> EEXIST;
            case Errno.ENODEV -> ENODEV;
            case Errno.EINVAL -> EINVAL;
            case Errno.ENOSPC -> ENOSPC;
            case Errno.EPIPE -> EPIPE;
            case Errno.EAGAIN -> EAGAIN;
            case Errno.EINPROGRESS -> EINPROGRESS;
            case Errno.EALREADY -> EALREADY;
            case Errno.ENOTSOCK -> ENOTSOCK;
            case Errno.EDESTADDRREQ -> EDESTADDRREQ;
            case Errno.EMSGSIZE -> EMSGSIZE;
            case Errno.EPROTOTYPE -> EPROTOTYPE;
            case Errno.ENOPROTOOPT -> ENOPROTOOPT;
            case Errno.EPROTONOSUPPORT -> EPROTONOSUPPORT;
            case Errno.EOPNOTSUPP -> EOPNOTSUPP;
            case Errno.EAFNOSUPPORT -> EAFNOSUPPORT;
            case Errno.EADDRINUSE -> EADDRINUSE;
            case Errno.EADDRNOTAVAIL -> EADDRNOTAVAIL;
            case Errno.ENETDOWN -> ENETDOWN;
            case Errno.ENETUNREACH -> ENETUNREACH;
            case Errno.ECONNABORTED -> ECONNABORTED;
            case Errno.ECONNRESET -> ECONNRESET;
            case Errno.ENOBUFS -> ENOBUFS;
            case Errno.EISCONN -> EISCONN;
            case Errno.ENOTCONN -> ENOTCONN;
            case Errno.ETIMEDOUT -> ETIMEDOUT;
            case Errno.ECONNREFUSED -> ECONNREFUSED;
            case Errno.EHOSTUNREACH -> EHOSTUNREACH;
            default -> EIO;
        };
    }
}
