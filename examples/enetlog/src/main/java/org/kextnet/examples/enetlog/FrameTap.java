package org.kextnet.examples.enetlog;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kpi.Callouts;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.interfacefilter.InterfaceFilterRef;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetFamily;

/**
 * enetlog's interface filter on one interface: records every frame in and out (a few fields into
 * {@link RecordRing}, formatted later by the extension's callout), and in swallow mode takes each frame
 * (EJUSTRETURN), holds it, and re-injects it from a callout, in the order the frames came.
 *
 * <p>Re-injected frames run through the interface's filters again, this one included: a tag marks them, and this
 * filter lets a tagged frame pass without logging it twice. While a received frame is held, the same tag's payload
 * keeps its frame header (which the kernel gives apart from the data and {@code ifnet_input} wants back in front).
 */
final class FrameTap implements InterfaceFilter {
    /** Record fields: time (epoch microseconds); interface index, direction and frame length; MACs; EtherType; ... */
    static final int F_TIME = 0, F_WHAT = 1, F_SRC_MAC = 2, F_DST_MAC = 3, F_TYPE = 4, F_ADDRS = 5, F_L4 = 6, F_EXTRA = 7;
    static final int IN = 0, OUT = 1;
    /** Flags in the low bits of {@link #F_L4}: the summary is there, IP fragment, ports or ICMP read. */
    static final int VALID = 1, FRAGMENT = 2, PORTS = 4, ICMP = 8;
    /** Tag types under the extension's tag id. */
    static final int TAG_HELD = 1, TAG_REINJECTED = 2;
    /** Frames held per direction at most; more are dropped (and counted), never let past the held ones. */
    static final int HOLD = 1024;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    final Ifnet ifp;
    private final EnetLog owner;
    private final int tag;
    private final boolean ethernet;
    private final ArrayBlockingQueue<Mbuf> heldIn = new ArrayBlockingQueue<>(HOLD), heldOut = new ArrayBlockingQueue<>(HOLD);
    volatile InterfaceFilterRef ref;
    private volatile boolean swallow;
    /** The release callout and its period; guarded by this. */
    private Callouts.Callout release;
    private long releaseMillis;
    final AtomicLong in = new AtomicLong(), out = new AtomicLong(), held = new AtomicLong(), reinjected = new AtomicLong(),
            dropped = new AtomicLong();

    FrameTap(EnetLog owner, Ifnet ifp, int tag) {
        this.owner = owner;
        this.ifp = ifp;
        this.tag = tag;
        this.ethernet = ifp.ifnetFamily() == IfnetFamily.ETHERNET;
    }

    boolean swallowing() { return swallow; }

    synchronized long releaseMillis() { return releaseMillis; }

    /**
     * Log mode ({@code swallow} false) or swallow mode. The release callout runs in both, every
     * {@code millis}: a frame a packet thread queued just as the mode changed is still released.
     */
    synchronized void setMode(boolean swallowFrames, long millis) {
        swallow = swallowFrames;
        if (release != null && millis == releaseMillis) return;
        if (release != null) release.cancel();
        release = owner.kpi().callouts().scheduleAtFixedRate(this::release, millis, TimeUnit.MILLISECONDS);
        releaseMillis = millis;
    }

    // ---- the filter: on packet threads; records without locks or allocation ----

    @Override public int input(Ifnet ifp, int protocolFamily, Mbuf m, int frameHeader) {
        if (m.tagFind(tag, TAG_REINJECTED) != null) { // ours, coming back: logged when it was taken
            m.tagFree(tag, TAG_REINJECTED);
            return 0;
        }
        in.incrementAndGet();
        record(IN, m, frameHeader);
        if (!swallow) return 0;
        int header = m.offset() - frameHeader;
        byte[] t = m.tagAllocate(tag, TAG_HELD, header + 1);
        if (t == null) return 0; // a frame header longer than a tag holds: not one we can put back, so not ours to take
        t[0] = (byte) header;
        MemorySegment.copy(m.segment(), ValueLayout.JAVA_BYTE, frameHeader, t, 1, header);
        return hold(heldIn, m);
    }

    @Override public int output(Ifnet ifp, int protocolFamily, Mbuf m) {
        if (m.tagFind(tag, TAG_REINJECTED) != null) {
            m.tagFree(tag, TAG_REINJECTED);
            return 0;
        }
        out.incrementAndGet();
        record(OUT, m, -1);
        if (!swallow) return 0;
        m.tagAllocate(tag, TAG_HELD, 1)[0] = (byte) protocolFamily;
        return hold(heldOut, m);
    }

    private int hold(ArrayBlockingQueue<Mbuf> queue, Mbuf m) {
        if (!queue.offer(m)) { // full: dropped rather than let past the frames held before it
            m.tagFree(tag, TAG_HELD);
            dropped.incrementAndGet();
            return Errno.ENOBUFS;
        }
        held.incrementAndGet();
        return Errno.EJUSTRETURN; // ours now: the callout may already be re-injecting it
    }

    /** Puts the frame's fields in the ring; {@code frameHeader} is -1 on output, where the frame is whole. */
    private void record(int direction, Mbuf m, int frameHeader) {
        RecordRing ring = owner.ring;
        long t = ring.claim();
        if (t < 0) {
            owner.lost.incrementAndGet();
            return;
        }
        try {
            long srcMac = -1, dstMac = -1;
            int type, l3 = 0, length = m.packetLength();
            if (frameHeader >= 0 && m.offset() - frameHeader >= 14) { // input on Ethernet: the header lies before the data
                MemorySegment s = m.segment();
                dstMac = mac(s, frameHeader);
                srcMac = mac(s, frameHeader + 6);
                type = s.get(U16, frameHeader + 12) & 0xffff;
                length += m.offset() - frameHeader;
            } else if (frameHeader < 0 && ethernet && m.length() >= 14) {
                MemorySegment s = m.segment();
                dstMac = mac(s, m.offset());
                srcMac = mac(s, m.offset() + 6);
                type = m.getU16(12);
                l3 = 14;
            } else { // raw IP (TUN, loopback): the version nibble says which
                int v = m.length() > 0 ? m.getU8(0) >>> 4 : 0;
                type = v == 4 ? 0x0800 : v == 6 ? 0x86dd : 0;
            }
            ring.set(t, F_TIME, owner.nowMicros());
            ring.set(t, F_WHAT, (long) ifp.index() << 40 | (long) direction << 32 | length);
            ring.set(t, F_SRC_MAC, srcMac);
            ring.set(t, F_DST_MAC, dstMac);
            ring.set(t, F_TYPE, type);
            summary(ring, t, m, type, l3);
        } finally {
            ring.publish(t); // never leave a claimed slot unpublished: the consumer would wait on it forever
        }
    }

    /** The network-layer fields: IPv4 addresses, protocol, ports or ICMP type; ARP operation and addresses. */
    private static void summary(RecordRing ring, long t, Mbuf m, int type, int l3) {
        long addrs = 0, l4 = 0, extra = 0;
        int avail = m.length() - l3; // what lies in the first buffer, where the accessors reach
        if (type == 0x0800 && avail >= 20) {
            int ihl = (m.getU8(l3) & 0x0f) * 4;
            int proto = m.getU8(l3 + 9);
            int frag = m.getU16(l3 + 6);
            boolean later = (frag & 0x1fff) != 0; // a fragment after the first has no transport header
            int flags = VALID | (later || (frag & 0x2000) != 0 ? FRAGMENT : 0);
            int a = 0, b = 0;
            addrs = (long) m.getInt(l3 + 12) << 32 | (m.getInt(l3 + 16) & 0xffffffffL);
            if (!later && ihl >= 20) {
                int x = l3 + ihl;
                if ((proto == 6 || proto == 17) && avail >= ihl + 4) {
                    a = m.getU16(x);
                    b = m.getU16(x + 2);
                    flags |= PORTS;
                } else if (proto == 1 && avail >= ihl + 8) {
                    a = m.getU8(x);
                    b = m.getU8(x + 1);
                    extra = m.getInt(x + 4) & 0xffffffffL; // echo id and sequence
                    flags |= ICMP;
                }
            }
            l4 = (long) proto << 48 | (long) a << 32 | (long) b << 16 | flags;
        } else if (type == 0x0806 && avail >= 28) {
            addrs = (long) m.getInt(l3 + 14) << 32 | (m.getInt(l3 + 24) & 0xffffffffL);
            l4 = (long) m.getU16(l3 + 6) << 32 | VALID;
            extra = (long) m.getU16(l3 + 8) << 32 | (m.getInt(l3 + 10) & 0xffffffffL); // sender's MAC
        }
        ring.set(t, F_ADDRS, addrs);
        ring.set(t, F_L4, l4);
        ring.set(t, F_EXTRA, extra);
    }

    private static long mac(MemorySegment s, long at) {
        return (long) (s.get(U16, at) & 0xffff) << 32 | (s.get(U32, at + 2) & 0xffffffffL);
    }

    // ---- release: on the timer thread (and once more at detach) ----

    /** Re-injects every held frame, oldest first, input and output each in order. */
    synchronized void release() {
        for (Mbuf m; (m = heldIn.poll()) != null; ) {
            byte[] t = m.tagFind(tag, TAG_HELD);
            int header = t[0];
            if (!m.prepend(header)) { // headroom gone: cannot rebuild the frame
                m.free();
                dropped.incrementAndGet();
                continue;
            }
            for (int i = 0; i < header; i++) m.put8(i, t[1 + i]);
            m.tagFree(tag, TAG_HELD);
            m.tagAllocate(tag, TAG_REINJECTED, 1);
            if (ifp.input(m) == 0) reinjected.incrementAndGet(); // takes ownership either way
        }
        for (Mbuf m; (m = heldOut.poll()) != null; ) {
            int pf = m.tagFind(tag, TAG_HELD)[0];
            m.tagFree(tag, TAG_HELD);
            m.tagAllocate(tag, TAG_REINJECTED, 1);
            if (ifp.outputRaw(pf, m) == 0) reinjected.incrementAndGet();
        }
    }

    /** The filter is gone (detached by a command, by the unload, or with its interface): give back what it holds. */
    @Override public void detached(Ifnet ifp) {
        synchronized (this) {
            if (release != null) release.cancel();
        }
        release(); // nothing calls the filter any more, so these frames are not seen again
        owner.tapDetached(this);
    }

    /** One line of counters: {@code wire0 swallow (10 ms) in 3 out 3 held 6 reinjected 6 dropped 0}. */
    String stats() {
        return ifp.name() + (swallow ? " swallow (" + releaseMillis() + " ms)" : " log") + " in " + in.get() + " out " + out.get()
                + " held " + held.get() + " reinjected " + reinjected.get() + " dropped " + dropped.get();
    }
}
