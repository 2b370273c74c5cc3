package org.kextnet.kpi;

/**
 * Error numbers, as xnu's {@code <sys/errno.h>}: every KPI call and callback that can fail returns one
 * as an {@code int} (0 for success), so the packet path never allocates an exception.
 *
 * <p>{@link #EJUSTRETURN} is the kernel-internal "stop here, I took the packet" code of the filter
 * conventions: 0 continues, EJUSTRETURN stops and hands ownership to the filter, any other errno drops
 * the packet and frees it.
 */
public final class Errno {
    private Errno() {}

    public static final int OK = 0;
    /** Stop processing; the callee now owns the packet (xnu: -2). */
    public static final int EJUSTRETURN = -2;
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, EBADF = 9, ENOMEM = 12, EACCES = 13,
            EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22, ENOSPC = 28, EPIPE = 32,
            EAGAIN = 35, EWOULDBLOCK = 35, EINPROGRESS = 36, EALREADY = 37, ENOTSOCK = 38, EDESTADDRREQ = 39,
            EMSGSIZE = 40, EPROTOTYPE = 41, ENOPROTOOPT = 42, EPROTONOSUPPORT = 43, EOPNOTSUPP = 45,
            EAFNOSUPPORT = 47, EADDRINUSE = 48, EADDRNOTAVAIL = 49, ENETDOWN = 50, ENETUNREACH = 51,
            ECONNABORTED = 53, ECONNRESET = 54, ENOBUFS = 55, EISCONN = 56, ENOTCONN = 57, ETIMEDOUT = 60,
            ECONNREFUSED = 61, EHOSTUNREACH = 65, ENOTSUP = 45;

    /** The symbolic name of an error number ("ENOBUFS"), or its number as text. */
    public static String name(int errno) {
        return switch (errno) {
            case 0 -> "OK";
            case EJUSTRETURN -> "EJUSTRETURN";
            case EPERM -> "EPERM"; case ENOENT -> "ENOENT"; case ESRCH -> "ESRCH"; case EINTR -> "EINTR"; case EIO -> "EIO";
            case ENXIO -> "ENXIO";
            case EBADF -> "EBADF"; case ENOMEM -> "ENOMEM"; case EACCES -> "EACCES"; case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY"; case EEXIST -> "EEXIST"; case ENODEV -> "ENODEV"; case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC"; case EPIPE -> "EPIPE"; case EAGAIN -> "EAGAIN"; case EINPROGRESS -> "EINPROGRESS";
            case EALREADY -> "EALREADY"; case ENOTSOCK -> "ENOTSOCK"; case EDESTADDRREQ -> "EDESTADDRREQ";
            case EMSGSIZE -> "EMSGSIZE"; case EPROTOTYPE -> "EPROTOTYPE"; case ENOPROTOOPT -> "ENOPROTOOPT";
            case EPROTONOSUPPORT -> "EPROTONOSUPPORT"; case EOPNOTSUPP -> "EOPNOTSUPP";
            case EAFNOSUPPORT -> "EAFNOSUPPORT"; case EADDRINUSE -> "EADDRINUSE"; case EADDRNOTAVAIL -> "EADDRNOTAVAIL";
            case ENETDOWN -> "ENETDOWN"; case ENETUNREACH -> "ENETUNREACH"; case ECONNABORTED -> "ECONNABORTED";
            case ECONNRESET -> "ECONNRESET"; case ENOBUFS -> "ENOBUFS"; case EISCONN -> "EISCONN";
            case ENOTCONN -> "ENOTCONN"; case ETIMEDOUT -> "ETIMEDOUT"; case ECONNREFUSED -> "ECONNREFUSED";
            case EHOSTUNREACH -> "EHOSTUNREACH";
            default -> Integer.toString(errno);
        };
    }
}
