package org.kextnet.examples.capture;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.interfacefilter.InterfaceFilterRef;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetFamily;

/**
 * One capture: an interface filter on one interface that copies each frame the filter expression matches (up to the
 * snap length) and queues the copy, and what takes the copies: a file (pcapng, written on the server's thread) or a
 * watching kernel-control client (one line per frame, sent by the extension's callout).
 *
 * <p>On the packet path the filter tests the frame in place and, if it matches, makes a copy with the kernel's
 * {@code mbuf_copym}; the copy carries the time, the direction and the frame's length in a tag. The queue holds at
 * most {@value #QUEUE} copies: beyond that (or with no buffer free) a frame is counted as dropped, as BPF counts
 * them, and the traffic goes on.
 */
final class Session implements InterfaceFilter {
    static final int QUEUE = 256;
    static final int TAG_META = 1, META_LENGTH = 13;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    final int id;
    final Ifnet ifp;
    final int snapLength;
    final String filterText;
    /** The watching connection's unit, or -1 for a file session. */
    final int unit;
    private final Capture owner;
    private final FilterExpr filter;
    private final boolean ethernet;
    private final ArrayBlockingQueue<Mbuf> queue = new ArrayBlockingQueue<>(QUEUE);
    private final PcapngWriter writer;
    private final Path path;
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    final AtomicLong captured = new AtomicLong(), dropped = new AtomicLong();
    /** Written to the file or sent to the watcher; and lines the watcher's queue had no room for. */
    private long delivered, notSent;
    private String failure;
    volatile InterfaceFilterRef ref;
    /** Who asked to stop a file session, to be told once the file is closed; -1 if nobody. */
    private volatile int stopRequester = -1;
    private boolean stopping;

    private Session(Capture owner, int id, Ifnet ifp, int snapLength, FilterExpr filter, String filterText, int unit,
                    PcapngWriter writer, Path path) {
        this.owner = owner;
        this.id = id;
        this.ifp = ifp;
        this.snapLength = snapLength;
        this.filter = filter;
        this.filterText = filterText;
        this.unit = unit;
        this.writer = writer;
        this.path = path;
        this.ethernet = ifp.ifnetFamily() == IfnetFamily.ETHERNET;
    }

    /** A session that sends a line per frame to the client on {@code unit}. */
    static Session watch(Capture owner, int id, Ifnet ifp, int snapLength, FilterExpr filter, String filterText, int unit) {
        return new Session(owner, id, ifp, snapLength, filter, filterText, unit, null, null);
    }

    /** A session that writes pcapng to {@code path}; the file is created now. */
    static Session file(Capture owner, int id, Ifnet ifp, int snapLength, FilterExpr filter, String filterText, Path path,
                        long rotateBytes, int maxFiles) throws IOException {
        int linkType = ifp.ifnetFamily() == IfnetFamily.ETHERNET ? PcapngWriter.LINKTYPE_ETHERNET : PcapngWriter.LINKTYPE_RAW;
        PcapngWriter w = new PcapngWriter(path, ifp.name(), linkType, snapLength, rotateBytes, maxFiles);
        return new Session(owner, id, ifp, snapLength, filter, filterText, -1, w, path);
    }

    boolean live() { return writer == null; }

    // ---- the filter: on packet threads ----

    @Override public int input(Ifnet ifp, int protocolFamily, Mbuf m, int frameHeader) {
        int header = m.offset() - frameHeader;
        int type = header >= 14 ? m.segment().get(U16, frameHeader + 12) & 0xffff : rawType(m, 0);
        if (filter.test(m, 0, type)) take(m, frameHeader, header, PcapngWriter.INBOUND);
        return 0;
    }

    @Override public int output(Ifnet ifp, int protocolFamily, Mbuf m) {
        boolean eth = ethernet && m.length() >= 14;
        int type = eth ? m.getU16(12) : rawType(m, 0);
        if (filter.test(m, eth ? 14 : 0, type)) take(m, -1, 0, PcapngWriter.OUTBOUND);
        return 0;
    }

    private static int rawType(Mbuf m, int at) {
        int v = m.length() > at ? m.getU8(at) >>> 4 : 0;
        return v == 4 ? 0x0800 : v == 6 ? 0x86dd : 0;
    }

    /** Copies the frame's first snap-length bytes (its header, given apart on input, in front) and queues the copy. */
    private void take(Mbuf m, int frameHeader, int header, int direction) {
        int original = header + m.packetLength();
        int length = Math.min(snapLength, original);
        Mbuf c = m.copy(0, length - header);
        if (c == null) { // no buffer free
            dropped.incrementAndGet();
            return;
        }
        if (header > 0) {
            if (!c.prepend(header)) {
                c.free();
                dropped.incrementAndGet();
                return;
            }
            MemorySegment.copy(m.segment(), frameHeader, c.segment(), c.offset(), header);
        }
        byte[] t = c.tagAllocate(owner.tag(), TAG_META, META_LENGTH);
        long micros = owner.nowMicros();
        for (int i = 0; i < 8; i++) t[i] = (byte) (micros >>> (56 - 8 * i));
        t[8] = (byte) direction;
        for (int i = 0; i < 4; i++) t[9 + i] = (byte) (original >>> (24 - 8 * i));
        if (queue.offer(c)) {
            captured.incrementAndGet();
        } else {
            c.free();
            dropped.incrementAndGet();
        }
    }

    // ---- taking the copies: the callout (live), the server's thread (files) ----

    /** Live: every queued frame as a line to the watcher. On the callout; never waits for the client. */
    synchronized void sendLines(ControlKpi controls, ControlRef control) {
        for (Mbuf c; (c = queue.poll()) != null; ) {
            byte[] t = c.tagFind(owner.tag(), TAG_META);
            String line = PacketLine.format(micros(t), ifp.name(), t[8] == PcapngWriter.INBOUND, c.toByteArray(), c.packetLength(), ethernet);
            c.free();
            int r = controls.enqueueData(control, unit, ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
            if (r == 0) delivered++;
            else notSent++; // a client that does not read loses lines; nothing waits for it
        }
    }

    /** Files: writes what is queued, unless a write is already on its way to the server's thread. */
    void scheduleWrite() {
        if (!queue.isEmpty() && flushScheduled.compareAndSet(false, true)) {
            owner.io(() -> {
                flushScheduled.set(false);
                write();
            });
        }
    }

    /** Writes every queued frame to the file; on a write error the session stops, with the error kept for list. */
    synchronized void write() {
        byte[] buf = owner.writeBuffer();
        for (Mbuf c; (c = queue.poll()) != null; ) {
            try {
                if (failure == null) {
                    byte[] t = c.tagFind(owner.tag(), TAG_META);
                    int n = c.packetLength();
                    c.copyData(0, buf, 0, n);
                    writer.write(micros(t), t[8], buf, n, original(t));
                    delivered++;
                }
            } catch (IOException e) {
                failure = e.getMessage();
                ref.detach(); // its detached callback finishes the session
            } finally {
                c.free();
            }
        }
    }

    private static long micros(byte[] t) {
        long v = 0;
        for (int i = 0; i < 8; i++) v = v << 8 | (t[i] & 0xff);
        return v;
    }

    private static int original(byte[] t) {
        return (t[9] & 0xff) << 24 | (t[10] & 0xff) << 16 | (t[11] & 0xff) << 8 | (t[12] & 0xff);
    }

    /**
     * Stops the session; for a file session, the client on {@code requester} is told once the file is closed.
     * @return false if it is stopping already
     */
    synchronized boolean stop(int requester) {
        if (stopping) return false;
        stopping = true;
        stopRequester = requester;
        ref.detach();
        return true;
    }

    /** Nothing calls the filter any more: write (or drop) what is queued, close the file, say so. */
    @Override public void detached(Ifnet ifp) {
        if (live()) {
            for (Mbuf c; (c = queue.poll()) != null; ) c.free();
            owner.ended(this, -1, null);
            return;
        }
        owner.io(() -> {
            write();
            String closeError = null;
            try {
                writer.close();
            } catch (IOException e) {
                closeError = e.getMessage();
            }
            synchronized (this) {
                if (failure == null) failure = closeError;
            }
            owner.ended(this, stopRequester, "session " + id + " stopped: " + counts());
        });
    }

    /** Counters, as list and stop show them. */
    synchronized String counts() {
        String s = captured.get() + " captured, " + dropped.get() + " dropped, ";
        if (live()) return s + delivered + " sent, " + notSent + " not sent";
        StringBuilder b = new StringBuilder(s).append(delivered).append(" written in ").append(writer.files().size())
                .append(writer.files().size() == 1 ? " file:" : " files:");
        for (Path p : writer.files()) b.append(' ').append(p);
        if (failure != null) b.append(" (failed: ").append(failure).append(')');
        return b.toString();
    }

    /** One line of {@code list}. */
    String describe() {
        String what = live() ? "watch (unit " + unit + ")" : "file " + path;
        return id + " " + ifp.name() + " " + what + " snaplen " + snapLength + (filterText.isEmpty() ? "" : " filter \"" + filterText + "\"")
                + ": " + counts();
    }

    @Override public String toString() { return "capture session " + id + " on " + ifp.name(); }

    /** The errno a start gets when its file cannot be created. */
    static int errnoOf(IOException e) {
        return e instanceof java.nio.file.NoSuchFileException ? Errno.ENOENT
                : e instanceof java.nio.file.AccessDeniedException ? Errno.EACCES : Errno.EIO;
    }
}
