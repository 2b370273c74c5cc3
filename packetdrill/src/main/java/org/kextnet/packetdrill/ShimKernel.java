package org.kextnet.packetdrill;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.Route;
import org.kextnet.kernel.inet.tcp.TcpConfig;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Icmp;
import org.kextnet.kernel.wire.Ipv4;

/**
 * Everything the shim asks of the kernel, in one place, so that a change of the kernel's structure touches
 * this class only: a {@link Kernel} on a {@link ManualClock}, its timers run as the clock moves, one
 * point-to-point interface ({@code pd0}) whose driver is packetdrill's side of the wire, and the sockets
 * the shim opens.
 *
 * <p>The interface carries the local address packetdrill expects ({@code --local_ip}, 192.168.0.1/16 by
 * default) and a default route, so that packetdrill's remote addresses (192.0.2.1 and whatever a script
 * names) are all reached through it, as through packetdrill's TUN device.
 *
 * <p>Timers: the kernel runs no timer thread on a manual clock; {@link #nextDeadline} is the time at which its timer
 * wheel next expires a timeout, and {@link #advanceTo} moves the clock there, step by step, running each on the way
 * ({@link Kernel#advanceTime}). Not thread-safe: {@link VirtualTime} calls it with its lock held.
 */
final class ShimKernel implements AutoCloseable {
    /** Frames the stack may send before packetdrill reads them; more are dropped and counted. */
    static final int OUT_QUEUE_LIMIT = 4096;

    /** A frame the stack sent: its bytes (from the IP header) and the virtual time it left. */
    record Frame(byte[] data, long nanos) {}

    private final ManualClock clock = new ManualClock();
    private final Buffers buffers = new Buffers(2048, 64);
    private final Kernel kernel;
    private final Interface ifp;
    private final WireDriver driver = new WireDriver();

    ShimKernel(ShimConfig config) {
        kernel = new Kernel("packetdrill", buffers, clock);
        ifp = kernel.createInterface("pd0", IfFamily.TUN, driver, 0, config.mtu());
        kernel.addAddress(ifp, new InterfaceAddress(config.localIp(), config.prefixLength()));
        kernel.routes().add(new Route(0, 0, 0, ifp, false));
        ifp.up();
    }

    Kernel kernel() { return kernel; }
    Interface ifp() { return ifp; }

    /** The kernel's time, in nanoseconds from the start of the run. */
    long now() { return clock.nanoTime(); }

    /**
     * The earliest time after {@link #now} at which moving the clock runs a kernel timer, or
     * {@link Long#MAX_VALUE} when nothing is scheduled: the wheel's next expiry, the start of the tick that expires
     * its earliest timeout (a time at or before now would never move the clock, so it is at least one tick on).
     */
    long nextDeadline() {
        long next = kernel.timers().nextExpiry();
        if (next == Long.MAX_VALUE) return next;
        long now = clock.nanoTime();
        return next - now > 0 ? next : now + kernel.timers().tickNanos();
    }

    /** Moves the clock to {@code nanos} (not backwards) and runs every timer due on the way, in order. */
    void advanceTo(long nanos) {
        long now = clock.nanoTime();
        if (nanos <= now) return;
        kernel.advanceTime(nanos - now);
    }

    /**
     * A packet from packetdrill (from its IP header), received on {@code pd0} on the calling thread.
     * @return 0, or a Linux errno: EMSGSIZE (empty or larger than the largest buffer), ENOBUFS (no buffer)
     */
    int inject(byte[] packet) {
        if (packet.length == 0 || packet.length > Ipv4.MAX_PACKET) return Linux.EMSGSIZE;
        Packet m = buffers.alloc(packet.length);
        if (m == null) return Linux.ENOBUFS;
        m.setLength(packet.length);
        m.copyFrom(0, packet, 0, packet.length);
        PacketContext ctx = kernel.contexts().acquire();
        try {
            ifp.input(ctx, m);
        } finally {
            kernel.contexts().release(ctx);
        }
        return 0;
    }

    /** The oldest frame the stack sent that packetdrill has not taken, or null. */
    Frame takeSent() { return driver.take(); }

    /** Frames dropped because packetdrill did not take them in time. */
    long sentDropped() { return driver.dropped; }

    /** The kernel's counters that are not zero, for the verbose log ("udp.datagrams received=1, ..."). */
    String statistics() {
        StringBuilder b = new StringBuilder();
        kernel.stats().snapshot().forEach((stat, v) -> {
            if (v != 0) b.append(b.isEmpty() ? "" : ", ").append(stat.name().toLowerCase(java.util.Locale.ROOT)).append('=').append(v);
        });
        return b.isEmpty() ? "none" : b.toString();
    }

    /**
     * Sends an ICMP echo request from a ping socket: {@code message} is the whole ICMP message as the caller wrote
     * it; its identifier becomes {@code id} and its checksum is computed, as Linux's ping sockets do; then the
     * kernel's IP output sends it (routing, IP filters, fragmentation).
     * @param src the source address, or 0 for the outgoing interface's
     * @return 0, or a Linux errno
     */
    int sendIcmpEcho(int src, int dst, int id, byte[] message) {
        Packet m = buffers.alloc(Ipv4.MIN_HEADER + message.length);
        if (m == null) return Linux.ENOBUFS;
        m.setLength(message.length);
        m.copyFrom(0, message, 0, message.length);
        MemorySegment s = m.segment();
        int o = m.offset();
        s.set(Bytes.U16, o + Icmp.ID, (short) id);
        s.set(Bytes.U16, o + Icmp.CHECKSUM, (short) 0);
        Icmp.fillChecksum(s, o, message.length);
        PacketContext ctx = kernel.contexts().acquire();
        try {
            ctx.stats().inc(Stat.ICMP_OUT_ECHO);
            int e = kernel.ipOutput().output(ctx, m, src, dst, Ipv4.PROTO_ICMP, Ipv4.DEFAULT_TTL, 0, false);
            return e == 0 ? 0 : Linux.errno(e);
        } finally {
            kernel.contexts().release(ctx);
        }
    }

    /** Whether {@code address} is one of the kernel's. */
    boolean isLocalAddress(int address) { return kernel.isLocalAddress(address); }

    /** A new UDP socket (the global socket filters for UDP attach to it). */
    UdpSocket openUdp() { return kernel.udp().open(); }

    /** A new TCP socket (the global socket filters for TCP attach to it). */
    TcpSocket openTcp() { return kernel.tcp().open(); }

    /** TCP's system-wide settings (the kernel's {@code net.inet.tcp} sysctls), which new connections read. */
    TcpConfig tcpConfig() { return kernel.tcp().stack().config(); }

    @Override public void close() {
        kernel.close();
        for (Frame f; (f = driver.take()) != null; ) { /* nothing left to free: frames are copies */ }
        buffers.close();
    }

    /**
     * {@code pd0}'s driver: what the stack transmits is copied out with the clock's time and queued for
     * packetdrill's {@code netdev_receive}; what packetdrill sends is input by {@link #inject}. No thread.
     */
    private final class WireDriver implements Driver {
        private final ArrayDeque<Frame> sent = new ArrayDeque<>();
        private long dropped;

        @Override public synchronized boolean transmit(PacketContext ctx, Packet m) {
            try {
                if (sent.size() >= OUT_QUEUE_LIMIT) {
                    dropped++;
                    return false;
                }
                sent.add(new Frame(m.toByteArray(), clock.nanoTime()));
                return true;
            } finally {
                m.free();
            }
        }

        synchronized Frame take() { return sent.poll(); }

        @Override public String describe() { return "packetdrill"; }
    }
}
