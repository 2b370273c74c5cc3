package org.kextnet.packetdrill;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * packetdrill's system calls on a kextnet kernel, in Linux's terms: the descriptor table, the per-descriptor
 * flags, blocking on virtual time, {@code poll} and {@code epoll}. Every method returns a count or 0, or a
 * negative Linux errno, and runs as one {@link VirtualTime#call}.
 *
 * <p>Descriptor numbers are chosen by the C side: each is a real descriptor it reserves (on /dev/null), because
 * packetdrill closes its sockets' descriptors with the real {@code close(2)} at the end of a script, and a bare
 * number could name one of the JVM's files.
 *
 * <p>Blocking: a call that would block ({@code -EAGAIN} from the protocol) on a blocking descriptor waits with
 * {@link VirtualTime#await} until the socket's readiness changes, the descriptor is closed, or its timeout
 * ({@code SO_RCVTIMEO}, {@code SO_SNDTIMEO}, poll's timeout), counted in virtual time, passes.
 */
final class Shim implements AutoCloseable {
    private static final int READABLE = Linux.POLLIN | Linux.POLLERR | Linux.POLLHUP | Linux.POLLRDHUP;
    private static final int WRITABLE = Linux.POLLOUT | Linux.POLLERR | Linux.POLLHUP;

    final ShimConfig config;
    final ShimKernel kernel;
    final VirtualTime time;
    private final SocketTypes types;
    private final Map<Integer, OpenFile> files = new HashMap<>();

    /** A shim whose driver (the thread that moves time) is the calling thread. */
    Shim(ShimConfig config, SocketTypes types, PrintStream log) {
        this.config = config;
        this.types = types;
        this.kernel = new ShimKernel(config);
        this.time = new VirtualTime(kernel, config.maxWaitNanos(), log, config.verbose(), Thread.currentThread());
    }

    // ---- descriptors ----

    int socket(int fd, int domain, int type, int protocol) {
        return time.call(() -> {
            if (domain != Linux.AF_INET) return -Linux.EAFNOSUPPORT; // kextnet has no IPv6 yet
            int flags = type & ~Linux.SOCK_TYPE_MASK;
            if ((flags & ~(Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC)) != 0) return -Linux.EINVAL;
            SocketTypes.Factory f = types.find(type & Linux.SOCK_TYPE_MASK, protocol);
            if (f == null) return -Linux.EPROTONOSUPPORT;
            if (config.sysctls()) new LinuxSysctls(LinuxSysctls.PROC).applyTo(kernel.tcpConfig()); // as the script set them
            install(fd, new SocketFile(f.open(kernel), (flags & Linux.SOCK_NONBLOCK) != 0, (flags & Linux.SOCK_CLOEXEC) != 0));
            return 0;
        });
    }

    int close(int fd) {
        return time.call(() -> {
            OpenFile f = files.remove(fd);
            if (f == null) return -Linux.EBADF;
            for (OpenFile o : files.values()) if (o instanceof EpollFile ep) ep.forget(fd);
            f.close();
            return 0;
        });
    }

    private void install(int fd, OpenFile f) {
        OpenFile stale = files.put(fd, f);
        if (stale != null) { // its real descriptor was closed behind the shim's back (packetdrill's final close)
            stale.close();
            time.say("descriptor " + fd + " was reused by the system: its old socket " + stale + " is closed");
        }
    }

    int fcntl(int fd, int cmd, int arg) {
        return time.call(() -> {
            OpenFile f = files.get(fd);
            if (f == null) return -Linux.EBADF;
            return switch (cmd) {
                case Linux.F_GETFL -> 2 /* O_RDWR */ | (f.nonblocking() ? Linux.O_NONBLOCK : 0);
                case Linux.F_SETFL -> { f.setNonblocking((arg & Linux.O_NONBLOCK) != 0); yield 0; }
                case Linux.F_GETFD -> f.cloexec() ? Linux.FD_CLOEXEC : 0;
                case Linux.F_SETFD -> { f.setCloexec((arg & Linux.FD_CLOEXEC) != 0); yield 0; }
                default -> -Linux.EINVAL;
            };
        });
    }

    /** {@code ioctl} with an int argument or result in {@code arg[0]}. */
    int ioctl(int fd, long request, int[] arg) {
        return time.call(() -> {
            OpenFile f = files.get(fd);
            if (f == null) return -Linux.EBADF;
            if (request == Linux.FIONBIO) {
                f.setNonblocking(arg[0] != 0);
                return 0;
            }
            if (!(f instanceof SocketFile s)) return -Linux.ENOTTY;
            return s.socket.ioctl(request, arg);
        });
    }

    // ---- socket calls ----

    int bind(int fd, int family, int address, int port) {
        return onSocket(fd, s -> family != Linux.AF_INET ? -Linux.EAFNOSUPPORT : s.socket.bind(address, port));
    }

    int listen(int fd, int backlog) {
        return onSocket(fd, s -> s.socket.listen(backlog));
    }

    /** {@code accept} into descriptor {@code newFd}; the peer goes to {@code peer} (family, address, port). */
    int accept(int newFd, int fd, int[] peer) {
        return onSocket(fd, s -> {
            while (true) {
                ShimSocket.Accepted a = s.socket.accept();
                if (a.errno() == 0) {
                    install(newFd, new SocketFile(a.socket(), false, false));
                    peer[0] = Linux.AF_INET;
                    peer[1] = a.peerAddress();
                    peer[2] = a.peerPort();
                    return 0;
                }
                if (a.errno() != Linux.EAGAIN || s.nonblocking()) return -a.errno();
                int w = waitFor(s, READABLE, s.receiveTimeout, "accept(" + fd + ")");
                if (w != 0) return w;
            }
        });
    }

    int connect(int fd, int family, int address, int port) {
        return onSocket(fd, s -> {
            if (family != Linux.AF_INET && family != Linux.AF_UNSPEC) return -Linux.EAFNOSUPPORT;
            int r = s.socket.connect(family, address, port);
            if (r != -Linux.EINPROGRESS || s.nonblocking()) return r;
            int w = waitFor(s, WRITABLE, s.sendTimeout, "connect(" + fd + ")");
            if (w == -Linux.EAGAIN) return -Linux.EINPROGRESS; // SO_SNDTIMEO ran out, as Linux says it
            if (w != 0) return w;
            int e = s.socket.takeError();
            return e == 0 ? 0 : -e;
        });
    }

    /**
     * {@code recv} and its kin into {@code dst}. {@code meta} receives the source and flags (see
     * {@link ShimSocket#receive}). With MSG_TRUNC a datagram's whole length is returned; with MSG_WAITALL a stream
     * read waits for {@code dst} to fill.
     */
    int receive(int fd, ByteBuffer dst, int flags, int[] meta) {
        return onSocket(fd, s -> {
            boolean dontWait = s.nonblocking() || (flags & Linux.MSG_DONTWAIT) != 0;
            boolean stream = s.socket.type() == Linux.SOCK_STREAM;
            long deadline = deadline(s.receiveTimeout);
            int total = 0;
            while (true) {
                int r = s.socket.receive(dst, flags, meta);
                if (r > 0 && stream && (flags & Linux.MSG_WAITALL) != 0 && dst.hasRemaining() && (flags & Linux.MSG_PEEK) == 0) {
                    total += r;
                    r = -Linux.EAGAIN; // not yet all: wait for more
                }
                if (r != -Linux.EAGAIN) {
                    if (r >= 0 && !stream && (flags & Linux.MSG_TRUNC) != 0) return meta[ShimSocket.META_LENGTH];
                    return r >= 0 ? total + r : (total > 0 ? total : r);
                }
                if (dontWait) return total > 0 ? total : -Linux.EAGAIN;
                int w = waitUntil(s, READABLE, deadline, "read(" + fd + ")");
                if (w != 0) return total > 0 ? total : w;
            }
        });
    }

    /**
     * {@code send} and its kin from {@code src}; {@code toPort < 0} when no address was given. A blocking stream
     * send waits until all of {@code src} is taken.
     */
    int send(int fd, ByteBuffer src, int flags, int toFamily, int toAddress, int toPort) {
        return onSocket(fd, s -> {
            if (toPort >= 0 && toFamily != Linux.AF_INET) return -Linux.EAFNOSUPPORT;
            boolean dontWait = s.nonblocking() || (flags & Linux.MSG_DONTWAIT) != 0;
            boolean stream = s.socket.type() == Linux.SOCK_STREAM;
            long deadline = deadline(s.sendTimeout);
            int total = 0;
            while (true) {
                int r = s.socket.send(src, flags, toAddress, toPort);
                if (r > 0 && stream && src.hasRemaining() && !dontWait) {
                    total += r;
                    r = -Linux.EAGAIN;
                }
                if (r != -Linux.EAGAIN) return r >= 0 ? total + r : (total > 0 ? total : r);
                if (dontWait) return total > 0 ? total : -Linux.EAGAIN;
                int w = waitUntil(s, WRITABLE, deadline, "write(" + fd + ")");
                if (w != 0) return total > 0 ? total : w;
            }
        });
    }

    int shutdown(int fd, int how) {
        return onSocket(fd, s -> how < Linux.SHUT_RD || how > Linux.SHUT_RDWR ? -Linux.EINVAL : s.socket.shutdown(how));
    }

    /** {@code getsockopt} into {@code out} (its remaining bytes are the caller's optlen): the bytes written, or an errno. */
    int getOption(int fd, int level, int name, ByteBuffer out) {
        return onSocket(fd, s -> {
            out.order(ByteOrder.LITTLE_ENDIAN);
            if (level != Linux.SOL_SOCKET) return s.socket.getOption(level, name, out);
            return switch (name) {
                case Linux.SO_TYPE -> UdpShimSocket.putInt(out, s.socket.type());
                case Linux.SO_PROTOCOL -> UdpShimSocket.putInt(out, s.socket.protocol());
                case Linux.SO_DOMAIN -> UdpShimSocket.putInt(out, Linux.AF_INET);
                case Linux.SO_ERROR -> UdpShimSocket.putInt(out, s.socket.takeError());
                case Linux.SO_RCVTIMEO -> putTimeval(out, s.receiveTimeout);
                case Linux.SO_SNDTIMEO -> putTimeval(out, s.sendTimeout);
                default -> s.socket.getOption(level, name, out);
            };
        });
    }

    int setOption(int fd, int level, int name, ByteBuffer value) {
        return onSocket(fd, s -> {
            value.order(ByteOrder.LITTLE_ENDIAN);
            if (level == Linux.SOL_SOCKET && (name == Linux.SO_RCVTIMEO || name == Linux.SO_SNDTIMEO)) {
                if (value.remaining() < 16) return -Linux.EINVAL;
                long sec = value.getLong(value.position()), usec = value.getLong(value.position() + 8);
                if (usec < 0 || usec >= 1_000_000) return -Linux.EDOM;
                long nanos;
                if (sec < 0) nanos = -1; // Linux: a negative timeout does not wait at all
                else if (sec > 86_400L * 365 * 100) nanos = 0; // longer than any run: forever
                else nanos = sec * 1_000_000_000L + usec * 1000;
                if (name == Linux.SO_RCVTIMEO) s.receiveTimeout = nanos; else s.sendTimeout = nanos;
                return 0;
            }
            if (level == Linux.SOL_SOCKET && (name == Linux.SO_TYPE || name == Linux.SO_PROTOCOL || name == Linux.SO_DOMAIN
                    || name == Linux.SO_ERROR)) {
                return -Linux.ENOPROTOOPT; // read-only
            }
            return s.socket.setOption(level, name, value);
        });
    }

    /**
     * {@code poll}: {@code fdEvents} holds (descriptor, events) pairs; each result goes to {@code revents}.
     * @param timeoutMillis negative: forever; 0: no wait
     */
    int poll(int[] fdEvents, int[] revents, int timeoutMillis) {
        return time.call(() -> {
            int n = pollOnce(fdEvents, revents);
            if (n > 0 || timeoutMillis == 0) return n;
            long deadline = timeoutMillis < 0 ? Long.MAX_VALUE : time.now() + timeoutMillis * 1_000_000L;
            time.await(() -> pollOnce(fdEvents, revents) > 0, deadline, "poll");
            return pollOnce(fdEvents, revents);
        });
    }

    private int pollOnce(int[] fdEvents, int[] revents) {
        int n = 0;
        for (int i = 0; i < revents.length; i++) {
            int fd = fdEvents[2 * i], events = fdEvents[2 * i + 1] & 0xffff;
            OpenFile f = fd < 0 ? null : files.get(fd);
            int r = fd < 0 ? 0 : f == null ? Linux.POLLNVAL : f.pollEvents() & (events | Linux.POLLERR | Linux.POLLHUP | Linux.POLLNVAL);
            revents[i] = r;
            if (r != 0) n++;
        }
        return n;
    }

    int epollCreate(int fd, int size) {
        return time.call(() -> {
            if (size <= 0) return -Linux.EINVAL;
            install(fd, new EpollFile(false));
            return 0;
        });
    }

    int epollControl(int epfd, int op, int fd, int events, long data) {
        return time.call(() -> {
            if (!(files.get(epfd) instanceof EpollFile ep)) return files.containsKey(epfd) ? -Linux.EINVAL : -Linux.EBADF;
            OpenFile target = files.get(fd);
            if (target == null) return -Linux.EBADF;
            return ep.control(op, fd, target, events, data);
        });
    }

    int epollWait(int epfd, int[] events, long[] data, int max, int timeoutMillis) {
        return time.call(() -> {
            if (!(files.get(epfd) instanceof EpollFile ep)) return files.containsKey(epfd) ? -Linux.EINVAL : -Linux.EBADF;
            if (max <= 0 || max > events.length) return -Linux.EINVAL;
            if (ep.collect(files, null, null, max, false) == 0 && timeoutMillis != 0) {
                long deadline = timeoutMillis < 0 ? Long.MAX_VALUE : time.now() + timeoutMillis * 1_000_000L;
                time.await(() -> ep.isClosed() || ep.collect(files, null, null, max, false) > 0, deadline, "epoll_wait(" + epfd + ")");
                if (ep.isClosed()) return -Linux.EBADF;
            }
            return ep.collect(files, events, data, max, true);
        });
    }

    // ---- packets and time ----

    /** {@code netdev_send}: a packet from packetdrill into the stack. */
    int netdevSend(byte[] packet) {
        int e = time.inject(packet);
        return e == 0 ? 0 : -e;
    }

    /** {@code netdev_receive}: the next frame the stack sent, or null after the bounded virtual wait. */
    ShimKernel.Frame netdevReceive() { return time.receive(); }

    // ---- helpers ----

    private interface SocketOp {
        int run(SocketFile s);
    }

    private int onSocket(int fd, SocketOp op) {
        return time.call(() -> {
            OpenFile f = files.get(fd);
            if (f == null) return -Linux.EBADF;
            if (!(f instanceof SocketFile s)) return -Linux.ENOTSOCK;
            return op.run(s);
        });
    }

    /** The virtual time a wait with {@code timeout} ends: 0 waits forever, a negative timeout not at all. */
    private long deadline(long timeout) {
        if (timeout == 0) return Long.MAX_VALUE;
        return timeout < 0 ? time.now() : time.now() + timeout;
    }

    private int waitFor(SocketFile s, int events, long timeout, String what) {
        return waitUntil(s, events, deadline(timeout), what);
    }

    /** Waits for one of {@code events} on {@code s}. @return 0 when ready, -EBADF if closed meanwhile, -EAGAIN at the deadline */
    private int waitUntil(SocketFile s, int events, long deadline, String what) {
        BooleanSupplier ready = () -> s.isClosed() || (s.socket.pollEvents() & events) != 0;
        if (!time.await(ready, deadline, what)) return -Linux.EAGAIN;
        return s.isClosed() ? -Linux.EBADF : 0;
    }

    private static int putTimeval(ByteBuffer out, long nanos) {
        if (out.remaining() < 16) return -Linux.EINVAL;
        if (nanos < 0) nanos = 0;
        out.putLong(out.position(), nanos / 1_000_000_000L);
        out.putLong(out.position() + 8, nanos % 1_000_000_000L / 1000);
        return 16;
    }

    /** Closes every descriptor and the kernel. */
    @Override public void close() {
        time.call(() -> {
            for (OpenFile f : files.values()) f.close();
            files.clear();
            return 0;
        });
        if (config.verbose()) time.say("kernel statistics at the end: " + kernel.statistics());
        kernel.close();
    }
}
