package org.kextnet.kernel.link.tun;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls the TUN/TAP driver needs, bound through the FFM linker (Linux x86-64 and aarch64).
 *
 * <p>The set-up calls take a capture-state segment first ({@link #newCallState}) into which the linker
 * copies {@code errno} right after the call, because the JVM may clobber errno before Java code could
 * read it. The packet calls ({@link #read}, {@link #write}, {@link #poll}) do <em>not</em> capture errno:
 * the JDK's capture slices the state segment on every call, and when C2 does not scalar-replace that
 * slice (deep in the transmit path it often does not) each call allocates an object, about 40 bytes
 * per echoed packet in the measurements. After a failed packet call the driver reads errno straight
 * away with {@link #lastErrno} (best effort), and where it must be sure it repeats a read with
 * {@link #readErrno}, which captures.
 *
 * <p>The packet calls take buffers as raw addresses ({@code long}) so that the caller need not make a
 * slice object per packet: the address of a pooled buffer's slot is passed directly.
 *
 * <p>{@code read} and {@code write} are linked as <em>critical</em> functions by default (no thread-state
 * transition around the call; the fd is non-blocking, so the call is short). System property
 * {@code kextnet.tun.critical=false} links them as ordinary downcalls, for comparison.
 */
final class Libc {
    private Libc() {}

    // Linux errno values (not the BSD ones of org.kextnet.kpi.Errno).
    static final int EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, EFAULT = 14, EINVAL = 22, EBADFD = 77;

    static final int O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    static final short POLLIN = 1;
    static final int AF_INET = 2, SOCK_DGRAM = 2;

    // <linux/if_tun.h>: _IOW('T', nr, int) = 0x40045400 | nr, _IOR = 0x80045400 | nr
    static final long TUNSETIFF = 0x400454caL, TUNGETFEATURES = 0x800454cfL, TUNGETIFF = 0x800454d2L,
            TUNSETOFFLOAD = 0x400454d0L, TUNSETVNETHDRSZ = 0x400454d8L;
    static final short IFF_TUN = 0x0001, IFF_TAP = 0x0002, IFF_MULTI_QUEUE = 0x0100, IFF_NO_PI = 0x1000,
            IFF_VNET_HDR = 0x4000;
    /** TUNSETOFFLOAD's flags: what the device may hand us unfinished, and so what Linux may send it. */
    static final int TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04;

    // <linux/sockios.h>
    static final long SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914, SIOCGIFMTU = 0x8921, SIOCSIFMTU = 0x8922;
    static final short IFF_UP = 0x1;

    /** {@code struct ifreq}: a 16-byte name, then a 24-byte union (flags and MTU at offset 16). */
    static final int IFNAMSIZ = 16, IFREQ_SIZE = 40, IFR_FLAGS = 16, IFR_MTU = 16;
    /** {@code struct pollfd}: int fd, short events, short revents. */
    static final int POLLFD_SIZE = 8, POLLFD_EVENTS = 4, POLLFD_REVENTS = 6;

    static final boolean CRITICAL = !"false".equals(System.getProperty("kextnet.tun.critical"));

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout ADDR = ValueLayout.ADDRESS;

    // int open(const char *path, int flags, ...): mode is variadic
    private static final MethodHandle OPEN = link("open", FunctionDescriptor.of(INT, ADDR, INT, INT),
            CAPTURE, Linker.Option.firstVariadicArg(2));
    // int ioctl(int fd, unsigned long request, ...): the argument is variadic
    private static final MethodHandle IOCTL_PTR = link("ioctl", FunctionDescriptor.of(INT, INT, LONG, ADDR),
            CAPTURE, Linker.Option.firstVariadicArg(2));
    // the same, for requests whose argument is a value (TUNSETOFFLOAD)
    private static final MethodHandle IOCTL_VALUE = link("ioctl", FunctionDescriptor.of(INT, INT, LONG, LONG),
            CAPTURE, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = link("close", FunctionDescriptor.of(INT, INT), CAPTURE);
    private static final MethodHandle SOCKET = link("socket", FunctionDescriptor.of(INT, INT, INT, INT), CAPTURE);
    // ssize_t read(int, void *, size_t) / write(int, const void *, size_t), the buffer as a raw address
    private static final MethodHandle READ = link("read", FunctionDescriptor.of(LONG, INT, LONG, LONG), packetOptions());
    private static final MethodHandle WRITE = link("write", FunctionDescriptor.of(LONG, INT, LONG, LONG), packetOptions());
    private static final MethodHandle READ_ERRNO = link("read", FunctionDescriptor.of(LONG, INT, LONG, LONG), CAPTURE);
    // ssize_t writev(int, const struct iovec *, int): only for chained mbufs, which the stack rarely makes
    private static final MethodHandle WRITEV = link("writev", FunctionDescriptor.of(LONG, INT, LONG, INT));
    // int poll(struct pollfd *, nfds_t, int timeout): blocks, so never critical
    private static final MethodHandle POLL = link("poll", FunctionDescriptor.of(INT, LONG, LONG, INT));
    // int *__errno_location(void): the calling thread's errno, read right after a failed packet call
    private static final MethodHandle ERRNO_LOCATION = link("__errno_location", FunctionDescriptor.of(LONG),
            Linker.Option.critical(false));
    /** All of memory, to read the int at the address __errno_location returns. */
    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private static Linker.Option[] packetOptions() {
        return CRITICAL ? new Linker.Option[] {Linker.Option.critical(false)} : new Linker.Option[0];
    }

    private static MethodHandle link(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment sym = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc function " + name + " not found"));
        return LINKER.downcallHandle(sym, fd, options);
    }

    /** A capture-state segment for one thread's calls (errno lands here). */
    static MemorySegment newCallState(Arena arena) { return arena.allocate(CALL_STATE); }

    /** The errno the last call through {@code state} left. */
    static int errno(MemorySegment state) { return (int) ERRNO.get(state, 0L); }

    static int open(MemorySegment state, MemorySegment path, int flags) {
        try {
            return (int) OPEN.invokeExact(state, path, flags, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int ioctl(MemorySegment state, int fd, long request, MemorySegment arg) {
        try {
            return (int) IOCTL_PTR.invokeExact(state, fd, request, arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int ioctl(MemorySegment state, int fd, long request, long value) {
        try {
            return (int) IOCTL_VALUE.invokeExact(state, fd, request, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int close(MemorySegment state, int fd) {
        try {
            return (int) CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int socket(MemorySegment state, int domain, int type, int protocol) {
        try {
            return (int) SOCKET.invokeExact(state, domain, type, protocol);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** One read into native memory at {@code address}; -1 on failure, errno not captured. */
    static long read(int fd, long address, long count) {
        try {
            return (long) READ.invokeExact(fd, address, count);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** As {@link #read}, with errno captured into {@code state}: for the rare read that must explain a failure. */
    static long readErrno(MemorySegment state, int fd, long address, long count) {
        try {
            return (long) READ_ERRNO.invokeExact(state, fd, address, count);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** One write from native memory at {@code address}; -1 on failure, errno not captured. */
    static long write(int fd, long address, long count) {
        try {
            return (long) WRITE.invokeExact(fd, address, count);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long writev(int fd, long iov, int iovcnt) {
        try {
            return (long) WRITEV.invokeExact(fd, iov, iovcnt);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** poll(2) on {@code nfds} pollfd structs at {@code fds}; errno is not needed (a failure is retried). */
    static int poll(long fds, long nfds, int timeoutMillis) {
        try {
            return (int) POLL.invokeExact(fds, nfds, timeoutMillis);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The calling thread's errno, read straight after a failed {@link #read} or {@link #write}. Best
     * effort: both calls are critical (no thread-state transition), but a safepoint between them could
     * still change it; callers use it to tell EAGAIN from errors and for log messages.
     */
    static int lastErrno() {
        try {
            long at = (long) ERRNO_LOCATION.invokeExact();
            return EVERYTHING.get(INT, at);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The symbolic name of a Linux errno for messages. */
    static String errnoName(int e) {
        return switch (e) {
            case 1 -> "EPERM"; case 2 -> "ENOENT"; case EINTR -> "EINTR"; case EIO -> "EIO"; case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN"; case 12 -> "ENOMEM"; case 13 -> "EACCES"; case EFAULT -> "EFAULT";
            case 16 -> "EBUSY"; case 17 -> "EEXIST"; case 19 -> "ENODEV"; case EINVAL -> "EINVAL";
            case 24 -> "EMFILE"; case 25 -> "ENOTTY"; case EBADFD -> "EBADFD"; case 95 -> "EOPNOTSUPP";
            default -> "errno " + e;
        };
    }

    private static RuntimeException rethrow(Throwable t) {
        // A downcall handle called with exactly its type throws nothing but errors of the JVM itself.
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
