package org.kextnet.kernel.link.tun;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.RxRing;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.KernelThreads;
import org.kextnet.kernel.sync.ThreadAbandoned;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kernel.wire.VirtioNet;

/**
 * The driver of a Linux TUN (raw IP, {@link IfFamily#TUN}) or TAP (Ethernet, {@link IfFamily#ETHERNET})
 * device.
 *
 * <p><b>Receive:</b> one platform reader thread per queue. It reads the non-blocking descriptor straight
 * into pooled buffers until the device is empty ({@code EAGAIN}) or {@link #BATCH} frames are in hand, runs
 * input for the whole batch, and, once the device is empty, waits in {@code poll(2)} with a timeout so that
 * it notices {@link #stop()}. Nothing is allocated per frame.
 *
 * <p><b>Transmit:</b> one {@code write(2)} of the buffer's data, which is already in native memory: no
 * copy and no allocation. A reader thread transmits on its own queue (so Linux keeps a flow's replies
 * and requests on one queue); any other thread uses queue 0.
 *
 * <p><b>Bad input:</b> a read error (an oversized frame, a device that went away) and an empty buffer pool
 * are counted on the interface and the kernel statistics; nothing is thrown out of a reader thread.
 *
 * <p><b>A stuck extension:</b> each reader is a {@link KernelThreads.Worker}. When the watchdog abandons a reader
 * held inside an extension's call, a new thread reads the queue with a context of its own; the stuck one, should
 * the call return, unwinds ({@link ThreadAbandoned}) and reads no more.
 *
 * <p>{@link #open} opens a device for {@code ifconfig create} (the types {@code tun} and {@code tap}),
 * with the options {@code queues N}, {@code netns NAME}, {@code peer A.B.C.D/P}, {@code dev LINUXNAME},
 * {@code mtu N}, for TUN {@code offload on|off}, and, for TAP, {@code lladdr XX:XX:XX:XX:XX:XX}.
 *
 * <p><b>Offloads</b> (TUN, on unless {@code offload off}): every read and write carries a virtio-net header. Linux
 * then sends TCP packets of up to 64 KiB (GSO), handed up as one packet, and packets whose checksum it left
 * unfinished ({@link #offloadState}); the driver takes from TCP packets of up to {@link #TSO_MAX} bytes
 * ({@link #tsoMaxSize()}) for Linux to cut into segments.
 */
public final class TunDriver implements Driver {
    private static final System.Logger LOG = System.getLogger("kextnet.tun");
    /** Most frames read before input runs for the batch. */
    public static final int BATCH = 64;
    /** How long an idle reader waits in poll(2) before checking whether it should stop. */
    static final int POLL_MILLIS = 100;
    /** Room beyond the MTU in a receive buffer: the link header and a VLAN tag. */
    private static final int LINK_SLACK = 18;
    /** Largest frame a discarding read may swallow when the pool is empty. */
    private static final int SINK_SIZE = 65536;

    /** Most packets of up to 64 KiB (virtio-net headers on) a batch holds, so a reader keeps few large buffers. */
    static final int LARGE_BATCH = 16;
    /** The largest IP packet a device with offloads takes to segment (the largest IPv4 total length). */
    public static final int TSO_MAX = 65535;

    private final TunDevice device;
    private final HostLink host;
    /** Every read and write starts with a virtio-net header (offloads on). */
    private final boolean vnet;
    private final Queue[] queues;
    private volatile Interface ifp;
    private volatile boolean running;
    private boolean stopped;

    /** One queue: its descriptor, its reader and the count of foreign transmits in progress. */
    private static final class Queue {
        final int index;
        final int fd;
        final AtomicInteger inflight = new AtomicInteger();
        /** The thread reading now (a replacement sets itself here when it starts). */
        volatile Thread reader;
        volatile KernelThreads.Worker worker;
        volatile boolean closed;
        /** Frames this queue's reader took from the device; written only by the reader. */
        volatile long received;
        /** Errors already logged on this queue (bit per kind), so a broken device does not flood the log. */
        volatile int logged;

        Queue(int index, int fd) {
            this.index = index;
            this.fd = fd;
        }
    }

    /**
     * A driver over an open device. {@code host} (may be null) is the device's Linux side, for
     * {@link #describe()}.
     */
    public TunDriver(TunDevice device, HostLink host) {
        this.device = device;
        this.host = host;
        this.vnet = device.vnetHeader();
        this.queues = new Queue[device.queues()];
        for (int q = 0; q < queues.length; q++) queues[q] = new Queue(q, device.fd(q));
    }

    public TunDevice device() { return device; }

    /** With offloads on, TCP may hand over packets of up to {@link #TSO_MAX} bytes for Linux to segment. */
    @Override public int tsoMaxSize() { return vnet ? TSO_MAX : 0; }

    /** Frames read so far from queue {@code q} (how Linux spread the flows over the queues). */
    public long queueReceived(int q) { return queues[q].received; }

    /** The interface family a device of this kind needs. */
    public static IfFamily family(TunDevice.Kind kind) {
        return kind == TunDevice.Kind.TUN ? IfFamily.TUN : IfFamily.ETHERNET;
    }

    @Override public synchronized void start(Interface ifp) {
        if (stopped) throw new IllegalStateException(device + " is stopped");
        if (this.ifp != null) throw new IllegalStateException(device + " is already started");
        this.ifp = ifp;
        running = true;
        for (Queue q : queues) {
            String name = "kextnet-" + ifp.table().kernelName() + "-" + ifp.name() + (queues.length > 1 ? "-q" + q.index : "");
            KernelThreads.Worker w = ifp.table().threads().worker(name, () -> readLoop(q, ifp));
            q.worker = w;
            w.start();
            q.reader = w.thread();
        }
    }

    // ---------------------------------------------------------------- receive

    private void readLoop(Queue q, Interface ifp) {
        KernelThreads.Worker self = q.worker;
        q.reader = Thread.currentThread();
        try (Arena arena = Arena.ofConfined()) {
            Reader r = new Reader(q, ifp, arena);
            try {
                while (running && self.isCurrent()) {
                    try {
                        if (r.round() && running) r.waitReadable();
                    } catch (RuntimeException e) {
                        // Not a packet's fault (input guards those): a last guard so the reader never dies. An
                        // Error goes on to the kernel's fatal-error rule (KernelThreads): no deaf reader.
                        ifp.counters().inc(IfCounters.IERRORS);
                        ifp.table().reportError(ifp, e);
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
                    }
                }
            } catch (ThreadAbandoned gone) {
                // The watchdog gave up on this thread inside an extension's call; a new reader reads the queue.
                r.abandoned = true;
            } finally {
                r.close();
            }
        }
    }

    /** One queue's receive state, owned by its reader thread. */
    private final class Reader {
        private final Queue q;
        private final Interface ifp;
        private final Arena arena;
        private final PacketContext ctx;
        private final Buffers buffers;
        private final IfCounters counters;
        private final int linkHeader;
        private final Packet[] batch = new Packet[BATCH];
        private final MemorySegment state;
        private final long pollAddress;
        private MemorySegment sink;
        /** A buffer left over from a read that found nothing, kept for the next read. */
        private Packet spare;
        /** poll(2) last said the device was readable: a read that fails now is not just EAGAIN. */
        private boolean pollSaidReady;
        /** The watchdog gave up on this reader: it lets go of what only it holds, and reads no more. */
        boolean abandoned;
        /** Large buffers (packets over a small buffer) in the batch being read. */
        private int large;

        Reader(Queue q, Interface ifp, Arena arena) {
            this.q = q;
            this.ifp = ifp;
            this.arena = arena;
            this.ctx = ifp.table().contexts().open();
            this.buffers = ifp.table().contexts().buffers();
            this.counters = ifp.counters();
            this.linkHeader = ifp.link().headerLength();
            this.state = Libc.newCallState(arena);
            MemorySegment pollfd = arena.allocate(Libc.POLLFD_SIZE, 8);
            pollfd.set(ValueLayout.JAVA_INT, 0, q.fd);
            pollfd.set(ValueLayout.JAVA_SHORT, Libc.POLLFD_EVENTS, Libc.POLLIN);
            this.pollAddress = pollfd.address();
        }

        /**
         * Reads up to one batch and runs input for it.
         * @return true if the device is empty (or failing), so the reader should wait
         */
        boolean round() {
            // Room for the largest frame the MTU allows (capped by the largest buffers there are); with offloads,
            // for the 64 KiB packets Linux then sends.
            int frameMax = vnet ? buffers.large().maxData()
                    : Math.min(ifp.mtu() + linkHeader + LINK_SLACK, buffers.large().maxData());
            // The virtio-net header is read into the headroom, just in front of where the packet's data starts.
            int hdr = vnet ? VirtioNet.HEADER_LENGTH : 0;
            int n = 0;
            large = 0;
            boolean idle = false;
            while (n < BATCH && large < LARGE_BATCH) {
                Packet m = takeBuffer(frameMax);
                if (m == null) {
                    idle = discardOne();
                    break;
                }
                long address = m.segment().address() + m.offset() - hdr;
                long room = m.capacity() - m.offset() + hdr;
                boolean afterPoll = pollSaidReady;
                pollSaidReady = false;
                long r = Libc.read(q.fd, address, room);
                if (r > 0 && r < room) {
                    n = took(m, (int) r, n);
                    continue;
                }
                if (r >= room) {
                    // Linux cuts a frame to the buffer it is read into, and the buffer is larger than
                    // the MTU: a full one held a frame too large for this interface. Dropped, counted.
                    spare = m;
                    counters.inc(IfCounters.IERRORS);
                    logOnce(q, OVERSIZED, "read");
                    continue;
                }
                if (r == 0) {
                    spare = m;
                    idle = true;
                    break;
                }
                // The plain read does not capture errno (see Libc); it is read straight after, best effort.
                int e = Libc.lastErrno();
                if (e == Libc.EAGAIN && afterPoll) {
                    // poll said readable, yet "empty": ask again with errno captured, in case it was
                    // overwritten (a device gone bad must not be taken for an empty one forever).
                    r = Libc.readErrno(state, q.fd, address, room);
                    if (r > 0) {
                        if (r < room) {
                            n = took(m, (int) r, n);
                        } else {
                            spare = m;
                            counters.inc(IfCounters.IERRORS);
                        }
                        continue;
                    }
                    e = r == 0 ? Libc.EAGAIN : Libc.errno(state);
                }
                spare = m;
                if (e == Libc.EAGAIN) {
                    idle = true;
                    break;
                }
                if (e == Libc.EINTR) continue;
                counters.inc(IfCounters.IERRORS);
                logOnce(q, e, "read");
                if (e != Libc.EFAULT && e != Libc.EINVAL) {
                    // Not a bad frame but a bad device (detached, gone): back off instead of spinning.
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
                    idle = true;
                    break;
                }
                // EFAULT/EINVAL: a frame Linux could not hand over (older kernels fail a read into a
                // too small buffer instead of cutting the frame): it is dropped; read on.
            }
            if (n > 0) {
                q.received += n; // single writer: a plain read-modify-write of a volatile is enough
                deliver(ifp, ctx, batch, n);
            }
            return idle;
        }

        /**
         * Takes the {@code r} bytes just read into {@code m} into the batch at {@code n}; returns the batch's new
         * size. With offloads, {@code r} counts the virtio-net header in front of the data: a malformed one is
         * counted ({@link Stat#LINK_BAD_VNET_HEADER}) and the packet dropped, {@code m} kept as the spare.
         */
        private int took(Packet m, int r, int n) {
            if (!vnet) {
                m.setLength(r);
                batch[n] = m;
                return n + 1;
            }
            MemorySegment s = m.segment();
            long h = m.offset() - VirtioNet.HEADER_LENGTH;
            int len = r - VirtioNet.HEADER_LENGTH;
            VirtioNet.Fault f = len < 0 ? VirtioNet.Fault.TOO_SHORT : VirtioNet.check(s, h, len);
            if (f != null) {
                spare = m;
                ctx.stats().inc(Stat.LINK_BAD_VNET_HEADER);
                counters.inc(IfCounters.IERRORS);
                logOnce(q, BAD_VNET, "read");
                return n;
            }
            int gso = VirtioNet.gsoType(s, h) == VirtioNet.GSO_NONE ? 0 : VirtioNet.gsoSize(s, h);
            if (gso == 0 && len > ifp.mtu() + linkHeader + LINK_SLACK) {
                // Only a GSO packet may be larger than the MTU: any other is what a plain device's read would have
                // cut (Linux's side was given a larger MTU than ours), and is dropped and counted as it was there.
                spare = m;
                counters.inc(IfCounters.IERRORS);
                logOnce(q, OVERSIZED, "read");
                return n;
            }
            m.setLength(len);
            int csum = offloadState(m, s, h);
            Packet p = m;
            if (len <= buffers.small().maxData()) {
                // Most packets are small (ACKs, MTU-sized segments): copied into a small buffer, so that the large
                // one, of a pool of few, reads the next packet.
                Packet c = ctx.alloc(len);
                if (c != null) {
                    MemorySegment.copy(s, m.offset(), c.segment(), c.offset(), len);
                    c.setLength(len);
                    spare = m;
                    p = c;
                }
            }
            if (p == m) large++;
            p.setCsumFlags(csum);
            p.setTsoSegmentSize(gso);
            batch[n] = p;
            return n + 1;
        }

        /** Waits until the device is readable or {@link #POLL_MILLIS} passed (so stop() is seen). */
        void waitReadable() {
            // A failure of poll itself (EINTR) is the same as a timeout: the next round reads anyway.
            pollSaidReady = Libc.poll(pollAddress, 1, POLL_MILLIS) > 0;
        }

        private Packet takeBuffer(int frameMax) {
            Packet m = spare;
            spare = null;
            if (m != null && m.capacity() - m.offset() >= frameMax) return m;
            if (m != null) ctx.free(m); // the MTU grew past this buffer
            return ctx.alloc(frameMax);
        }

        /**
         * No buffer is free: reads one frame into a scratch area and drops it, so the device queue keeps
         * moving while the frames in hand go up (and free buffers). Returns true if the device was empty.
         */
        private boolean discardOne() {
            if (sink == null) sink = arena.allocate(SINK_SIZE, 64);
            long r = Libc.read(q.fd, sink.address(), SINK_SIZE);
            if (r <= 0) return true;
            ctx.stats().inc(Stat.NO_BUFFERS);
            counters.inc(IfCounters.IDROPS);
            return false;
        }

        void close() {
            if (spare != null) spare.free();
            spare = null;
            if (abandoned) {
                RxRing.letGo(ctx, batch);
            } else {
                ctx.close();
            }
        }
    }

    /**
     * The checksum state a received packet's virtio-net header gives it. DATA_VALID: Linux checked it. NEEDS_CSUM:
     * the transport checksum holds only the pseudo-header sum. Such a packet comes from this host's own Linux stack
     * through memory, where nothing can corrupt it, so it is taken as verified ({@code CSUM_DATA_VALID}) rather than
     * completed here: completing it is a pass in Java over every byte received, the very cost the offload saves,
     * for a sum nobody needs when the packet is for this host (Linux's veth trusts CHECKSUM_PARTIAL the same way).
     * It is also marked {@link Packet#CSUM_PARTIAL}, so that a packet forwarded on is finished before a device that
     * would not finish it ({@code IpOutput}). A NEEDS_CSUM packet whose checksum is not the usual TCP or UDP one of
     * an IPv4 packet is finished here, as the header says, so the partial mark always means that one.
     */
    private static int offloadState(Packet m, MemorySegment s, long h) {
        int f = VirtioNet.flags(s, h);
        if ((f & VirtioNet.F_NEEDS_CSUM) == 0) {
            return (f & VirtioNet.F_DATA_VALID) != 0 ? Packet.CSUM_DATA_VALID : 0;
        }
        int start = VirtioNet.csumStart(s, h), at = start + VirtioNet.csumOffset(s, h);
        long o = m.offset();
        int len = m.length();
        if (len >= Ipv4.MIN_HEADER && Ipv4.version(s, o) == 4 && start == Ipv4.headerLength(s, o)
                && at - start == Ipv4.transportChecksumOffset(Ipv4.protocol(s, o))) {
            return Packet.CSUM_DATA_VALID | Packet.CSUM_PARTIAL;
        }
        int sum = ~Checksum.fold(Checksum.sum(s, o + start, len - start, 0)) & 0xffff;
        s.set(Bytes.U16, o + at, (short) (sum == 0 ? 0xffff : sum));
        return Packet.CSUM_DATA_VALID;
    }

    private static void deliver(Interface ifp, PacketContext ctx, Packet[] batch, int n) {
        try {
            ifp.input(ctx, batch, n);
        } catch (RuntimeException e) {
            // Interface.input catches per-frame failures itself; this only guards the reader thread.
            // It hands frames over one by one, clearing each slot: what is left was never delivered.
            for (int i = 0; i < n; i++) {
                if (batch[i] != null) {
                    if (!batch[i].isFree()) batch[i].free();
                    batch[i] = null;
                }
            }
            ifp.counters().inc(IfCounters.IERRORS);
            ifp.table().reportError(ifp, e);
        }
    }

    // ---------------------------------------------------------------- transmit

    @Override public boolean transmit(PacketContext ctx, Packet m) {
        Thread self = Thread.currentThread();
        Queue[] qs = queues;
        for (Queue q : qs) {
            if (q.reader == self) {
                // A reader transmits on its own queue; stop() joins the readers before it closes the
                // descriptors, so this write cannot race with the close. (Only a reader that itself
                // stopped the driver, from a callback, gets here afterwards: it finds the queue closed.)
                if (q.closed) {
                    m.free();
                    return false;
                }
                return send(ctx, q, m);
            }
        }
        Queue q = qs[0];
        q.inflight.incrementAndGet();
        try {
            if (q.closed) {
                m.free();
                return false;
            }
            return send(ctx, q, m);
        } finally {
            q.inflight.decrementAndGet();
        }
    }

    private boolean send(PacketContext ctx, Queue q, Packet m) {
        if (vnet) {
            m = withVnetHeader(ctx, m);
            if (m == null) {
                Interface i = ifp;
                if (i != null) i.counters().inc(IfCounters.OERRORS);
                return false;
            }
        }
        long expected;
        long r;
        if (m.next() == null) {
            expected = m.length();
            r = Libc.write(q.fd, m.segment().address() + m.offset(), expected);
        } else {
            expected = m.packetLength();
            r = writeChain(q.fd, m);
        }
        if (r == expected) {
            ctx.free(m); // a reader's own cache when a reader sends: the buffer is reused for its next read
            return true;
        }
        // Linux drops on its side silently when its queue is full; an error here means a bad frame
        // (EINVAL) or a device that is down (EIO). Interface.transmit counts the drop.
        if (r < 0) {
            int e = Libc.lastErrno();
            m.free();
            Interface i = ifp;
            if (i != null) i.counters().inc(IfCounters.OERRORS);
            logOnce(q, e, "write");
        } else {
            m.free();
        }
        return false;
    }

    /**
     * Puts the virtio-net header in front of {@code m}: for a TCP packet TCP built for segmentation offload, GSO
     * TCPV4 with its segment size, and NEEDS_CSUM (its checksum holds the pseudo-header sum, which is what Linux's
     * segmentation starts from); for another {@link Packet#CSUM_PARTIAL} packet, NEEDS_CSUM alone; else all zero.
     * In the headroom, or, for a packet without any (an extension's), in a copy. Returns null (and frees {@code m})
     * only when no buffer is free for that copy.
     */
    private static Packet withVnetHeader(PacketContext ctx, Packet m) {
        if (!m.prepend(VirtioNet.HEADER_LENGTH)) {
            int len = m.packetLength();
            Packet c = ctx.alloc(len + VirtioNet.HEADER_LENGTH);
            if (c == null) {
                ctx.stats().inc(Stat.NO_BUFFERS);
                m.free();
                return null;
            }
            c.setLength(len);
            long at = c.offset();
            for (Packet b = m; b != null; at += b.length(), b = b.next()) {
                MemorySegment.copy(b.segment(), b.offset(), c.segment(), at, b.length());
            }
            c.setCsumFlags(m.csumFlags());
            c.setTsoSegmentSize(m.tsoSegmentSize());
            m.free();
            m = c;
            m.prepend(VirtioNet.HEADER_LENGTH);
        }
        MemorySegment s = m.segment();
        long h = m.offset();
        long ip = h + VirtioNet.HEADER_LENGTH;
        int tso = m.tsoSegmentSize();
        if ((tso > 0 || (m.csumFlags() & Packet.CSUM_PARTIAL) != 0) && m.length() >= VirtioNet.HEADER_LENGTH + Ipv4.MIN_HEADER
                && Ipv4.version(s, ip) == 4) {
            int hl = Ipv4.headerLength(s, ip);
            int protocol = Ipv4.protocol(s, ip);
            int at = Ipv4.transportChecksumOffset(protocol);
            if (at > 0) {
                boolean gso = tso > 0 && protocol == Ipv4.PROTO_TCP;
                int transport = protocol == Ipv4.PROTO_TCP ? Tcp.headerLength(s, ip + hl) : 8;
                VirtioNet.write(s, h, VirtioNet.F_NEEDS_CSUM, gso ? VirtioNet.GSO_TCPV4 : VirtioNet.GSO_NONE,
                        hl + transport, gso ? tso : 0, hl, at);
                return m;
            }
        }
        VirtioNet.writeNone(s, h);
        return m;
    }

    /** A chained packet (only the mbuf KPI builds chains): one writev over its buffers. Allocates. */
    private static long writeChain(int fd, Packet m) {
        int count = 0;
        for (Packet b = m; b != null; b = b.next()) count++;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment iov = arena.allocate(16L * count, 8);
            int i = 0;
            for (Packet b = m; b != null; b = b.next(), i++) {
                iov.set(ValueLayout.JAVA_LONG, 16L * i, b.segment().address() + b.offset());
                iov.set(ValueLayout.JAVA_LONG, 16L * i + 8, b.length());
            }
            return Libc.writev(fd, iov.address(), count);
        }
    }

    /** Pseudo-errnos for {@link #logOnce}: a frame larger than the receive buffer; a malformed virtio-net header. */
    private static final int OVERSIZED = 31, BAD_VNET = 30;

    private void logOnce(Queue q, int errno, String op) {
        int bit = 1 << Math.min(errno, 31);
        if ((q.logged & bit) != 0) return;
        q.logged |= bit;
        String what = errno == OVERSIZED ? "a frame larger than the interface's MTU"
                : errno == BAD_VNET ? "a malformed virtio-net header (frame dropped)" : Libc.errnoName(errno);
        LOG.log(System.Logger.Level.WARNING, op + " on " + device + " queue " + q.index + ": " + what
                + " (counted as an interface error; further ones are only counted)");
    }

    // ---------------------------------------------------------------- stop

    /** Stops the readers, waits for transmits in progress, closes the device (Linux removes it). */
    @Override public void stop() {
        synchronized (this) {
            if (stopped) return;
            stopped = true;
            running = false;
        }
        for (Queue q : queues) {
            KernelThreads.Worker w = q.worker;
            if (w != null) w.stop();
            Thread t = q.reader;
            if (t == null || t == Thread.currentThread()) continue;
            try {
                t.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) LOG.log(System.Logger.Level.WARNING, "reader " + t.getName() + " did not stop");
        }
        for (Queue q : queues) {
            q.closed = true;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (q.inflight.get() != 0 && System.nanoTime() < deadline) Thread.onSpinWait();
        }
        device.close();
    }

    @Override public String describe() {
        String where = host != null && host.netns() != null ? " in netns " + host.netns() : "";
        return device + where;
    }

    // ---------------------------------------------------------------- ifconfig create

    /** An opened device with what the interface over it needs. */
    public record Opened(TunDriver driver, IfFamily family, long lladdr, int mtu) {}

    /**
     * Opens a device for interface {@code name} (created by the caller over {@link Opened#driver}).
     * Options: {@code queues N} (default 1), {@code dev LINUXNAME} (default: {@code name}),
     * {@code netns NAME} (move the Linux device into that existing namespace), {@code peer A.B.C.D/P}
     * (the address of the Linux side), {@code mtu N} (both sides; default 1500), for TUN {@code offload on|off}
     * (default on: checksum and TCP segmentation offloads through virtio-net headers, when Linux accepts them;
     * {@link TunDevice#open(String, TunDevice.Kind, int, boolean)}) and, for TAP,
     * {@code lladdr XX:XX:XX:XX:XX:XX} (default: a random locally administered address). The Linux
     * side is always brought up.
     *
     * @throws IllegalArgumentException for an unknown or malformed option (the message names it)
     * @throws java.io.UncheckedIOException if the device cannot be opened or configured
     */
    public static Opened open(String name, TunDevice.Kind kind, Map<String, String> options) {
        String type = kind.name().toLowerCase();
        int queues = 1;
        int mtu = 1500;
        boolean mtuGiven = false;
        boolean offload = kind == TunDevice.Kind.TUN;
        String dev = name, netns = null, peer = null;
        long lladdr = kind == TunDevice.Kind.TAP ? randomLocalMac() : 0;
        for (Map.Entry<String, String> o : new LinkedHashMap<>(options).entrySet()) {
            String v = o.getValue();
            switch (o.getKey()) {
                case "queues" -> queues = intOption(type, "queues", v, 1, TunDevice.MAX_QUEUES);
                case "mtu" -> {
                    mtu = intOption(type, "mtu", v, 68, 65535);
                    mtuGiven = true;
                }
                case "dev" -> dev = v;
                case "offload" -> {
                    if (kind != TunDevice.Kind.TUN) throw new IllegalArgumentException("tap option offload: only a TUN device has offloads");
                    if (!v.equals("on") && !v.equals("off")) throw new IllegalArgumentException("tun option offload: '" + v + "' is not on or off");
                    offload = v.equals("on");
                }
                case "netns" -> netns = v;
                case "peer" -> {
                    try {
                        InterfaceAddress.parse(v);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(type + " option peer: '" + v + "' is not an address/prefix: " + e.getMessage());
                    }
                    peer = v;
                }
                case "lladdr" -> {
                    if (kind != TunDevice.Kind.TAP) throw new IllegalArgumentException("tun option lladdr: a TUN device has no link address");
                    lladdr = parseMac(v);
                }
                default -> throw new IllegalArgumentException("unknown " + type + " option '" + o.getKey()
                        + "' (known: queues, dev, netns, peer, mtu" + (kind == TunDevice.Kind.TAP ? ", lladdr)" : ", offload)"));
            }
        }
        TunDevice device = TunDevice.open(dev, kind, queues, offload);
        if (offload && !device.vnetHeader()) {
            LOG.log(System.Logger.Level.INFO, device + ": Linux refused IFF_VNET_HDR or TUNSETOFFLOAD; offloads off");
        }
        try {
            HostLink host = new HostLink(device.name(), null);
            if (netns != null) host.moveTo(netns);
            if (mtuGiven) host.setMtu(mtu);
            if (peer != null) host.addAddress(peer);
            host.up();
            return new Opened(new TunDriver(device, host), family(kind), lladdr, mtu);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    private static int intOption(String type, String key, String v, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(type + " option " + key + ": '" + v + "' is not a number");
        }
        if (n < min || n > max) throw new IllegalArgumentException(type + " option " + key + ": " + n + " out of range " + min + ".." + max);
        return n;
    }

    /** A random unicast, locally administered MAC (02:xx:xx:xx:xx:xx). */
    public static long randomLocalMac() {
        return 0x020000000000L | (ThreadLocalRandom.current().nextLong() & 0xffffffffffL);
    }

    static long parseMac(String text) {
        String[] p = text.split(":");
        if (p.length != 6) throw new IllegalArgumentException("tap option lladdr: '" + text + "' is not XX:XX:XX:XX:XX:XX");
        long mac = 0;
        for (String b : p) {
            int v;
            try {
                v = Integer.parseInt(b, 16);
            } catch (NumberFormatException e) {
                v = -1;
            }
            if (b.length() != 2 || v < 0) throw new IllegalArgumentException("tap option lladdr: '" + text + "' is not XX:XX:XX:XX:XX:XX");
            mac = (mac << 8) | v;
        }
        if ((mac & 0x010000000000L) != 0) throw new IllegalArgumentException("tap option lladdr: " + text + " is a multicast address");
        return mac;
    }
}
