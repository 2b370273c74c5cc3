package org.kextnet.kernel.embed;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.wire.Ethernet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Udp;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * A stream of sequence-numbered UDP frames for tests and benchmarks under traffic: the frame template, how a
 * sequence number and a mark byte sit in its payload, and a {@link Checker} for the receiving end that counts
 * lost, duplicated and reordered packets and packets with an unexpected mark (filters count themselves in the
 * mark byte, see {@link MarkingFilter}).
 */
public final class SequencedStream {
    /** Offsets in the UDP payload: the 8-byte sequence number and the mark byte. */
    public static final int SEQ = 0, MARK = 8;
    /** Where the UDP payload starts in an Ethernet frame and in an IP packet. */
    public static final int FRAME_PAYLOAD = Ethernet.HEADER_LEN + Ipv4.MIN_HEADER + Udp.HEADER_LEN,
            IP_PAYLOAD = Ipv4.MIN_HEADER + Udp.HEADER_LEN;
    /** Where the mark byte is, from the IP header (what an IP filter sees). */
    public static final int IP_MARK = IP_PAYLOAD + MARK;

    private SequencedStream() {}

    /**
     * An IPv4 UDP packet from port 40000 to port 5000 with a 16-byte payload and no UDP checksum (filters
     * rewrite the payload).
     */
    public static byte[] udpTemplate(int src, int dst) {
        byte[] ip = new byte[IP_PAYLOAD + 16];
        MemorySegment s = MemorySegment.ofArray(ip);
        Ipv4.write(s, 0, 0, ip.length, 0, 0, Ipv4.DEFAULT_TTL, Ipv4.PROTO_UDP, src, dst);
        Udp.write(s, Ipv4.MIN_HEADER, 40000, 5000, Udp.HEADER_LEN + 16);
        return ip;
    }

    /** The template as the peer of {@code link} sends it to the kernel's own address there. */
    public static byte[] localFrame(KernelHarness k, String link) {
        KernelHarness.Link l = k.link(link);
        return k.ipFrame(link, udpTemplate(l.peerIp(), l.kernelIp()));
    }

    /** The template in a frame from the peer of {@code from} to the kernel, addressed to the peer of {@code to}. */
    public static byte[] forwardedFrame(KernelHarness k, String from, String to) {
        return k.ipFrame(from, udpTemplate(k.link(from).peerIp(), k.link(to).peerIp()));
    }

    /** Fills {@code m} with {@code frame} carrying {@code seq}; the IP header counts as checked. */
    public static void fill(Packet m, byte[] frame, int payloadOffset, long seq) {
        m.setLength(frame.length);
        m.copyFrom(0, frame, 0, frame.length);
        m.putInt(payloadOffset + SEQ, (int) (seq >>> 32));
        m.putInt(payloadOffset + SEQ + 4, (int) seq);
        m.setCsumFlags(Packet.CSUM_IP_CHECKED | Packet.CSUM_IP_VALID);
    }

    /** The sequence number of a frame or packet whose UDP payload starts at {@code payloadOffset}. */
    public static long seq(Mbuf m, int payloadOffset) {
        return ((long) m.getInt(payloadOffset + SEQ) << 32) | (m.getInt(payloadOffset + SEQ + 4) & 0xffffffffL);
    }

    /**
     * The receiving end's check. Exact: a packet whose number was seen before is a duplicate, one that comes
     * after a higher number is reordered, and every number below the expected count never seen is lost. One
     * thread feeds it; others may read the counts once it stopped.
     */
    public static final class Checker {
        private final BitSet seen = new BitSet();
        private final int[] allowedMarks;
        private long received, duplicated, reordered, badMark;
        private long highest = -1;

        /** @param allowedMarks the values the mark byte may have (how many filter instances a packet may have passed) */
        public Checker(int... allowedMarks) { this.allowedMarks = allowedMarks.clone(); }

        public void accept(long seq, int mark) {
            received++;
            if (seq < 0 || seq > Integer.MAX_VALUE) throw new IllegalArgumentException("sequence number " + seq);
            if (seen.get((int) seq)) {
                duplicated++;
            } else {
                seen.set((int) seq);
                if (seq < highest) reordered++;
            }
            if (seq > highest) highest = seq;
            if (!allowed(mark)) badMark++;
        }

        private boolean allowed(int mark) {
            for (int a : allowedMarks) if (a == mark) return true;
            return false;
        }

        /** Reads the frame or packet's number and mark. */
        public void accept(Mbuf m, int payloadOffset) {
            accept(seq(m, payloadOffset), m.getU8(payloadOffset + MARK));
        }

        public long received() { return received; }
        public long duplicated() { return duplicated; }
        public long reordered() { return reordered; }
        public long badMark() { return badMark; }

        /** Numbers in [0, sent) never received. */
        public long lost(long sent) { return sent - seen.get(0, (int) sent).cardinality(); }

        /** Whether every number in [0, sent) came exactly once, in order, with an allowed mark. */
        public boolean clean(long sent) {
            return duplicated == 0 && reordered == 0 && badMark == 0 && lost(sent) == 0 && received == sent;
        }

        public String describe(long sent) {
            return String.format("%,d sent, %,d received: %d lost, %d duplicated, %d reordered, %d with an unexpected mark",
                    sent, received, lost(sent), duplicated, reordered, badMark);
        }
    }
}
