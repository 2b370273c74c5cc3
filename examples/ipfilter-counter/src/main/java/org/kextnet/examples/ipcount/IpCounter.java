package org.kextnet.examples.ipcount;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLongArray;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.PortMessage;

/**
 * The example network kernel extension: an IP filter that counts the packets the host receives and sends, per
 * IP protocol, and answers queries about them. kern_loader loads it from {@code ipcount.kern_server}; because
 * the class implements {@link KernelExtension}, kern_loader calls {@link #start} at load and {@link #stop} at
 * unload.
 *
 * <p>Queries, all answered with the same counts:
 * <ul>
 *   <li>the kernel control {@value #NAME} (from the JVM with the socket API, from other processes through
 *       kern_loader's RPC, {@code kextnet ctl send ipcount stats}): send {@code stats} and receive the text line,
 *       send {@code reset} to zero the counters; option {@value #OPT_COUNTS} reads them as eight big-endian
 *       64-bit numbers (in: ICMP, UDP, TCP, other; out: the same), option {@value #OPT_RESET} zeroes them;</li>
 *   <li>the advertised port {@value #NAME} ({@code kextnet port send ipcount}), whose MAP routine {@link #query}
 *       replies with the text line. A message to it loads the extension if it is not loaded.</li>
 * </ul>
 */
public final class IpCounter implements KernelExtension, IpFilter, KernelControl {
    /** The filter's, the control's and the port's name. */
    public static final String NAME = "ipcount";
    /** getopt: the counts, 8 × u64 (in ICMP, UDP, TCP, other; out ICMP, UDP, TCP, other). */
    public static final int OPT_COUNTS = 1;
    /** setopt: zero the counts (any value). */
    public static final int OPT_RESET = 2;

    private static final int ICMP = 1, TCP = 6, UDP = 17;

    private final AtomicLongArray in = new AtomicLongArray(256), out = new AtomicLongArray(256);
    private volatile Kpi kpi;
    private volatile IpFilterRef filter;
    private volatile ControlRef control;
    private volatile boolean filterDetached;

    /** Registers the filter and the control; on failure undoes what it did and returns the errno. */
    @Override public int start(Kpi kpi) {
        this.kpi = kpi;
        try {
            filter = kpi.ipFilters().addV4(NAME, Position.DEFAULT, this);
            control = kpi.controls().register(ControlParams.named(NAME), this);
            kpi.log().log(System.Logger.Level.INFO, "counting IPv4 packets; control and port " + NAME);
            return 0;
        } catch (KpiException e) {
            kpi.removeAll();
            return e.errno();
        }
    }

    /**
     * The enetlognke pattern: the first call starts removing the filter and deregisters the control; every
     * call answers EBUSY until the filter's detached callback has run and the control is gone (it cannot go
     * while a client is connected). kern_loader calls again until it answers 0.
     */
    @Override public int stop(Kpi kpi) {
        IpFilterRef f = filter;
        if (f != null) f.remove(); // idempotent
        ControlRef c = control;
        if (c != null && kpi.controls().deregister(c) == 0) control = null;
        return filterDetached && control == null ? 0 : Errno.EBUSY;
    }

    // ---- the IP filter: on the packet path, so it only counts (no allocation, no locks) ----

    @Override public int input(Mbuf m, int offset, int protocol) {
        in.incrementAndGet(protocol & 0xff);
        return 0;
    }

    @Override public int output(Mbuf m, IpPacketOptions options) {
        out.incrementAndGet(m.getU8(9)); // the protocol field of the IP header m starts with
        return 0;
    }

    @Override public void detached() {
        filterDetached = true;
    }

    // ---- the kernel control ----

    @Override public int connect(ControlConnection connection) {
        return 0;
    }

    /** A text command from a client: {@code stats} or {@code reset}; the answer is queued to that client. */
    @Override public int send(ControlConnection connection, Mbuf m, int flags) {
        byte[] b = new byte[m.packetLength()];
        m.copyData(0, b, 0, b.length);
        m.free();
        String reply = switch (new String(b, StandardCharsets.UTF_8).strip()) {
            case "stats" -> stats();
            case "reset" -> {
                reset();
                yield "reset";
            }
            default -> "unknown command (stats, reset)";
        };
        ControlRef c = control;
        if (c == null) return Errno.ENOTCONN;
        return kpi.controls().enqueueData(c, connection.unit(), ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
    }

    @Override public int getOption(ControlConnection connection, int option, byte[] buffer) {
        if (option != OPT_COUNTS) return -Errno.ENOPROTOOPT;
        if (buffer == null) return 64;
        if (buffer.length < 64) return -Errno.EINVAL;
        ByteBuffer b = ByteBuffer.wrap(buffer);
        for (AtomicLongArray a : new AtomicLongArray[] {in, out}) {
            b.putLong(a.get(ICMP)).putLong(a.get(UDP)).putLong(a.get(TCP)).putLong(other(a));
        }
        return 64;
    }

    @Override public int setOption(ControlConnection connection, int option, byte[] data) {
        if (option != OPT_RESET) return Errno.ENOPROTOOPT;
        reset();
        return 0;
    }

    // ---- the advertised port ----

    /** MAP ipcount: replies with the counts as text. */
    public int query(KernServ ks, PortMessage msg, int arg) {
        msg.reply(msg.id(), stats().getBytes(StandardCharsets.UTF_8));
        return 0;
    }

    /** The counts as one line: {@code in icmp=3 udp=1 tcp=0 other=0 out icmp=3 udp=1 tcp=0 other=0}. */
    public String stats() {
        return "in " + line(in) + " out " + line(out);
    }

    private static String line(AtomicLongArray a) {
        return "icmp=" + a.get(ICMP) + " udp=" + a.get(UDP) + " tcp=" + a.get(TCP) + " other=" + other(a);
    }

    private static long other(AtomicLongArray a) {
        long n = 0;
        for (int p = 0; p < 256; p++) if (p != ICMP && p != UDP && p != TCP) n += a.get(p);
        return n;
    }

    private void reset() {
        for (int p = 0; p < 256; p++) {
            in.set(p, 0);
            out.set(p, 0);
        }
    }
}
