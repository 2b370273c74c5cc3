package org.kextnet.kernel.link.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.kextnet.kernel.wire.VirtioNet;

/**
 * A Linux TUN or TAP device opened through {@code /dev/net/tun}: one file descriptor per queue, each
 * non-blocking. With more than one queue the device is created with {@code IFF_MULTI_QUEUE} and Linux
 * spreads received flows over the queues.
 *
 * <p>The device is not persistent: it exists while at least one of its descriptors is open, so closing
 * this object (or the process ending) removes it from whatever network namespace it was moved to.
 */
public final class TunDevice implements AutoCloseable {
    /** The two kinds of device. */
    public enum Kind {
        /** Layer 3: raw IP packets, no link header ({@code IFF_TUN}). */
        TUN,
        /** Layer 2: Ethernet frames ({@code IFF_TAP}). */
        TAP
    }

    /** Largest number of queues Linux allows per device (MAX_TAP_QUEUES). */
    public static final int MAX_QUEUES = 256;

    private final String name;
    private final Kind kind;
    private final int[] fds;
    private final boolean vnetHeader;
    private volatile boolean closed;

    private TunDevice(String name, Kind kind, int[] fds, boolean vnetHeader) {
        this.name = name;
        this.kind = kind;
        this.fds = fds;
        this.vnetHeader = vnetHeader;
    }

    /** As {@link #open(String, Kind, int, boolean)} without offloads. */
    public static TunDevice open(String name, Kind kind, int queues) {
        return open(name, kind, queues, false);
    }

    /**
     * Creates (or attaches to) the device {@code name} with {@code IFF_NO_PI}: no packet-information
     * prefix, so every read returns exactly one packet or frame.
     *
     * @param name the Linux device name (at most 15 bytes; a {@code %d} in it lets Linux pick the unit)
     * <p>With {@code offload} (TUN only), the device is asked for {@code IFF_VNET_HDR} and the offloads {@code
     * TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6}: every read and write then starts with a {@link
     * org.kextnet.kernel.wire.VirtioNet} header, Linux may hand over TCP packets of up to 64 KiB with their checksum
     * unfinished, and takes such packets to cut into segments itself. If Linux refuses either (an old kernel), the
     * device is opened as without {@code offload}: {@link #vnetHeader()} tells which it got.
     *
     * @param queues number of queues, each with its own descriptor (1 for a plain device)
     * @throws UncheckedIOException if the device cannot be opened or created (for example without CAP_NET_ADMIN)
     */
    public static TunDevice open(String name, Kind kind, int queues, boolean offload) {
        if (offload && kind == Kind.TUN) {
            TunDevice d = tryOpen(name, kind, queues, true);
            if (d != null) return d;
        }
        return tryOpen(name, kind, queues, false);
    }

    /**
     * A device over non-blocking descriptors opened elsewhere, which it then owns: for tests, where one end of a
     * datagram socket pair stands for the device and the test writes and reads the other, as Linux would.
     */
    static TunDevice adopt(String name, Kind kind, int[] fds, boolean vnetHeader) {
        return new TunDevice(name, kind, fds.clone(), vnetHeader);
    }

    /** Opens the device; with {@code vnet}, returns null (nothing left open) if Linux refuses the header or offloads. */
    private static TunDevice tryOpen(String name, Kind kind, int queues, boolean vnet) {
        byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        if (nameBytes.length == 0 || nameBytes.length >= Libc.IFNAMSIZ) {
            throw new IllegalArgumentException("device name '" + name + "' must have 1 to " + (Libc.IFNAMSIZ - 1) + " characters");
        }
        if (queues < 1 || queues > MAX_QUEUES) throw new IllegalArgumentException("queues " + queues + " out of range 1.." + MAX_QUEUES);
        short flags = (short) ((kind == Kind.TUN ? Libc.IFF_TUN : Libc.IFF_TAP) | Libc.IFF_NO_PI
                | (queues > 1 ? Libc.IFF_MULTI_QUEUE : 0) | (vnet ? Libc.IFF_VNET_HDR : 0));
        int[] fds = new int[queues];
        Arrays.fill(fds, -1);
        String actual = name;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Libc.newCallState(arena);
            MemorySegment path = arena.allocateFrom("/dev/net/tun");
            MemorySegment ifr = arena.allocate(Libc.IFREQ_SIZE);
            for (int q = 0; q < queues; q++) {
                int fd = Libc.open(st, path, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
                if (fd < 0) throw failure("open /dev/net/tun", Libc.errno(st), fds, arena);
                fds[q] = fd;
                ifr.fill((byte) 0);
                byte[] want = actual.getBytes(StandardCharsets.US_ASCII);
                MemorySegment.copy(want, 0, ifr, ValueLayout.JAVA_BYTE, 0, want.length);
                ifr.set(ValueLayout.JAVA_SHORT, Libc.IFR_FLAGS, flags);
                if (Libc.ioctl(st, fd, Libc.TUNSETIFF, ifr) < 0) {
                    if (vnet && Libc.errno(st) == Libc.EINVAL && q == 0) return closeAll(fds, arena);
                    throw failure("TUNSETIFF " + actual + " (queue " + q + ")", Libc.errno(st), fds, arena);
                }
                // Linux may have filled in a unit number; further queues attach to that exact name.
                actual = ifr.getString(0, StandardCharsets.US_ASCII);
                if (vnet) {
                    MemorySegment size = arena.allocateFrom(ValueLayout.JAVA_INT, VirtioNet.HEADER_LENGTH);
                    if (Libc.ioctl(st, fd, Libc.TUNSETVNETHDRSZ, size) < 0
                            || Libc.ioctl(st, fd, Libc.TUNSETOFFLOAD, Libc.TUN_F_CSUM | Libc.TUN_F_TSO4 | Libc.TUN_F_TSO6) < 0) {
                        return closeAll(fds, arena);
                    }
                }
            }
        }
        return new TunDevice(actual, kind, fds, vnet);
    }

    private static TunDevice closeAll(int[] fds, Arena arena) {
        MemorySegment st = Libc.newCallState(arena);
        for (int fd : fds) if (fd >= 0) Libc.close(st, fd);
        return null;
    }

    private static UncheckedIOException failure(String what, int errno, int[] fds, Arena arena) {
        MemorySegment st = Libc.newCallState(arena);
        for (int fd : fds) if (fd >= 0) Libc.close(st, fd);
        String hint = errno == 1 ? " (needs CAP_NET_ADMIN: run as root)" : errno == 16 ? " (device busy: in use with other flags?)" : "";
        return new UncheckedIOException(new IOException(what + ": " + Libc.errnoName(errno) + hint));
    }

    /** The Linux name of the device. */
    public String name() { return name; }
    public Kind kind() { return kind; }
    public int queues() { return fds.length; }
    /**
     * Whether every read and write carries a virtio-net header, with checksum and TCP segmentation offloads on
     * ({@code IFF_VNET_HDR}, {@code TUNSETOFFLOAD}).
     */
    public boolean vnetHeader() { return vnetHeader; }

    /** The descriptor of queue {@code q} (for the driver). */
    int fd(int q) { return fds[q]; }

    public boolean isClosed() { return closed; }

    /** Closes every queue; the device disappears. Idempotent. */
    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = Libc.newCallState(arena);
            for (int i = 0; i < fds.length; i++) {
                if (fds[i] >= 0) Libc.close(st, fds[i]);
                fds[i] = -1;
            }
        }
    }

    @Override public String toString() {
        return kind.name().toLowerCase() + " " + name + (fds.length > 1 ? " (" + fds.length + " queues)" : "")
                + (vnetHeader ? " offload" : "");
    }
}
