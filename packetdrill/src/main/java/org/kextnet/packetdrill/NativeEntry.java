package org.kextnet.packetdrill;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.IntSupplier;

/**
 * The methods the C half of the shim ({@code src/main/c/kextnet_packetdrill.c}) calls through JNI, one per entry
 * of packetdrill's {@code struct packetdrill_interface}. Arguments are primitives, int and long arrays for
 * results, and direct buffers over packetdrill's own memory, valid during the call only (never kept). Every
 * method returns a count or 0, or a negative Linux errno; the C side sets {@code errno} and returns -1.
 *
 * <p>No exception leaves: a call that would block forever on packetdrill's main thread fails with EINTR (the
 * shim says why on stderr); a bug fails the call with EIO and prints its stack trace.
 */
final class NativeEntry {
    private static volatile Shim shim;
    private static final PrintStream LOG = System.err;

    private NativeEntry() {}

    /** Called once, on packetdrill's main thread. @return null, or why the shim cannot start */
    static String init(String flags) {
        try {
            ShimConfig config = ShimConfig.parse(flags);
            shim = new Shim(config, SocketTypes.standard(), LOG);
            return null;
        } catch (IllegalArgumentException e) {
            return "bad --so_flags: " + e.getMessage();
        } catch (RuntimeException | Error e) {
            e.printStackTrace(LOG);
            return "cannot start the kernel: " + e;
        }
    }

    static void free() {
        Shim s = shim;
        shim = null;
        if (s != null) s.close();
    }

    static long gettimeofday() { return shim().time.readClockMicros(); }

    static int usleep(long micros) {
        return guard("usleep", () -> {
            shim().time.sleep(Math.multiplyExact(micros, 1000L));
            return 0;
        });
    }

    static int netdevSend(ByteBuffer packet) {
        return guard("netdev_send", () -> {
            byte[] b = new byte[packet.remaining()];
            packet.get(b);
            return shim().netdevSend(b);
        });
    }

    /** Copies the next frame into {@code buf}; its time (µs, gettimeofday's scale) into {@code time[0]}. @return its length, 0 if none */
    static int netdevReceive(ByteBuffer buf, long[] time) {
        return guard("netdev_receive", () -> {
            Shim s = shim();
            ShimKernel.Frame f = s.netdevReceive();
            if (f == null) {
                time[0] = VirtualTime.EPOCH_MICROS + s.time.now() / 1000;
                return 0;
            }
            int n = Math.min(f.data().length, buf.remaining());
            buf.put(f.data(), 0, n);
            time[0] = VirtualTime.EPOCH_MICROS + f.nanos() / 1000;
            return n;
        });
    }

    static int socket(int fd, int domain, int type, int protocol) {
        return guard("socket", () -> shim().socket(fd, domain, type, protocol));
    }

    static int bind(int fd, int family, int address, int port) {
        return guard("bind", () -> shim().bind(fd, family, address, port));
    }

    static int listen(int fd, int backlog) {
        return guard("listen", () -> shim().listen(fd, backlog));
    }

    static int accept(int newFd, int fd, int[] peer) {
        return guard("accept", () -> shim().accept(newFd, fd, peer));
    }

    static int connect(int fd, int family, int address, int port) {
        return guard("connect", () -> shim().connect(fd, family, address, port));
    }

    /** {@code meta}: see {@link ShimSocket#receive}. */
    static int recv(int fd, ByteBuffer dst, int flags, int[] meta) {
        return guard("recv", () -> shim().receive(fd, dst, flags, meta));
    }

    static int send(int fd, ByteBuffer src, int flags, int toFamily, int toAddress, int toPort) {
        return guard("send", () -> shim().send(fd, src, flags, toFamily, toAddress, toPort));
    }

    static int fcntl(int fd, int cmd, int arg) {
        return guard("fcntl", () -> shim().fcntl(fd, cmd, arg));
    }

    static int ioctl(int fd, long request, int[] arg) {
        return guard("ioctl", () -> shim().ioctl(fd, request, arg));
    }

    /** @return 0 (the C side then closes its reserved descriptor), or -EBADF for a descriptor that is not the shim's */
    static int close(int fd) {
        return guard("close", () -> shim().close(fd));
    }

    static int shutdown(int fd, int how) {
        return guard("shutdown", () -> shim().shutdown(fd, how));
    }

    static int getsockopt(int fd, int level, int name, ByteBuffer out) {
        return guard("getsockopt", () -> shim().getOption(fd, level, name, out.order(ByteOrder.LITTLE_ENDIAN)));
    }

    static int setsockopt(int fd, int level, int name, ByteBuffer value) {
        return guard("setsockopt", () -> shim().setOption(fd, level, name, value.order(ByteOrder.LITTLE_ENDIAN)));
    }

    static int poll(int[] fdEvents, int[] revents, int timeoutMillis) {
        return guard("poll", () -> shim().poll(fdEvents, revents, timeoutMillis));
    }

    static int epollCreate(int fd, int size) {
        return guard("epoll_create", () -> shim().epollCreate(fd, size));
    }

    static int epollCtl(int epfd, int op, int fd, int events, long data) {
        return guard("epoll_ctl", () -> shim().epollControl(epfd, op, fd, events, data));
    }

    static int epollWait(int epfd, int[] events, long[] data, int max, int timeoutMillis) {
        return guard("epoll_wait", () -> shim().epollWait(epfd, events, data, max, timeoutMillis));
    }

    private static Shim shim() {
        Shim s = shim;
        if (s == null) throw new IllegalStateException("the shim is not initialised");
        return s;
    }

    private static int guard(String call, IntSupplier op) {
        try {
            return op.getAsInt();
        } catch (VirtualTime.Stalled e) {
            return -Linux.EINTR; // said on stderr where it was thrown
        } catch (RuntimeException | Error e) {
            LOG.println("kextnet-packetdrill: " + call + " failed inside the shim:");
            e.printStackTrace(LOG);
            return -Linux.EIO;
        }
    }
}
