package org.kextnet.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.OUR_MAC;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_MAC;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.neighbor.NeighborCache;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;

/**
 * The malformed-traffic storm of docs/reliability.md, family by family, on one kernel: truncated headers, every IP
 * option with every length, overlapping and teardrop fragments, a fragment bomb, every TCP flag combination, ICMP
 * errors quoting junk, bad ARP. After each family: nothing escaped an input path, no buffer is held, the neighbour
 * table is within its bound, and a ping is still answered. Truncated frames are each counted under exactly one
 * reason.
 */
class MalformedTrafficStormTest {
    private static final Set<Stat> TRUNCATION_REASONS = EnumSet.of(Stat.LINK_RUNT, Stat.ARP_MALFORMED, Stat.IP_TOO_SHORT,
            Stat.IP_TOO_SMALL, Stat.IP_BAD_HLEN, Stat.IP_BAD_LEN);

    private final TestNet net = TestNet.builder().smallBuffers(1024).build();
    private final TcpSocket listener;
    private int pingSeq;

    MalformedTrafficStormTest() throws Exception {
        listener = net.kernel.tcp().open().bind(0, 80);
        listener.listen(8);
    }

    @AfterEach void close() {
        listener.close();
        net.close();
    }

    /** Sends every frame, then checks that the kernel is whole: the oracle after each family. */
    private void storm(String family, List<byte[]> frames) {
        for (byte[] f : frames) {
            net.peer0().send(f);
            net.peer0().drain(); // answers (RSTs, ICMP errors) are allowed; only their being bounded matters here
        }
        for (int i = 0; i < 5; i++) net.tick(1, TimeUnit.HOURS); // reassembly and ARP give up
        net.peer0().drain();
        assertThat(net.buffersInUse()).as(family + ": buffers still held").isZero();
        for (Interface ifp : net.kernel.interfaces()) {
            assertThat(ifp.counters().get(IfCounters.IERRORS)).as(family + ": an input path threw on " + ifp).isZero();
        }
        assertThat(net.kernel.ipv4().arp(net.em0()).size()).as(family + ": neighbour table").isLessThanOrEqualTo(NeighborCache.GC_THRESH3);
        int seq = ++pingSeq;
        net.peer0().send(Pkt.echo(0x5157, seq, Pkt.counting(56)));
        Frame reply = net.peer0().recv();
        assertThat(reply.bytes()[14 + 20]).as(family + ": echo reply type").isZero();
        assertThat(net.buffersInUse()).isZero();
    }

    private static List<Pkt> templates() {
        return List.of(Pkt.echo(1, 1, Pkt.counting(32)), Pkt.udp(5000, 9, Pkt.counting(20)),
                Pkt.raw(Ipv4.PROTO_TCP, tcp(40000, 80, 1, 0, 0x02, 5, new byte[0])), Pkt.raw(Pkt.ICMP, new byte[0]).withOptions(0x94, 4, 0, 0));
    }

    @Test void truncatedHeadersAreEachCountedOnce() {
        List<byte[]> frames = new ArrayList<>();
        for (Pkt p : templates()) {
            byte[] whole = p.bytes();
            for (int n = 0; n < whole.length; n++) frames.add(Arrays.copyOf(whole, n));
        }
        byte[] arp = Pkt.arp(-1L & 0xffff_ffff_ffffL, PEER_MAC, 1, PEER_MAC, PEER_IP, 0, OUR_IP);
        for (int n = 14; n < 42; n++) frames.add(Arrays.copyOf(arp, n));

        net.markStats();
        storm("truncated", frames);
        Map<Stat, Long> changed = net.statsChanged();
        long counted = changed.entrySet().stream().filter(e -> TRUNCATION_REASONS.contains(e.getKey())).mapToLong(Map.Entry::getValue).sum();
        assertThat(counted).as("every truncated frame under one reason: %s", changed).isEqualTo(frames.size());
    }

    @Test void everyIpOptionWithEveryLength() {
        List<byte[]> frames = new ArrayList<>();
        for (int type = 0; type < 256; type++) {
            for (int len = 0; len <= 40; len++) {
                int[] opt = new int[40];
                opt[0] = type;
                opt[1] = len;
                for (int i = 2; i < 40; i++) opt[i] = (i * 7 + type) & 0xff;
                frames.add(Pkt.echo(2, type, new byte[8]).withOptions(opt).bytes());
                if (len < 4) frames.add(Pkt.udp(5000, 9, "x").withOptions(type, len, 0, 0).bytes()); // short option areas too
            }
        }
        storm("IP options", frames);
    }

    @Test void overlappingAndTeardropFragmentsAndAFragmentBomb() {
        List<byte[]> frames = new ArrayList<>();
        Pkt big = Pkt.udp(5000, 9, Pkt.counting(3000));
        for (int id = 1; id <= 200; id++) {
            Pkt d = big.withId(id);
            frames.add(d.fragment(0, 1480, true).bytes());
            frames.add(d.fragment(1480 - 8 * (id % 20), 24, false).bytes()); // teardrop: inside the first, ends short
            frames.add(d.fragment(8 * (id % 50), 1480, true).bytes());        // overlapping the first
        }
        for (int id = 1000; id < 3000; id++) frames.add(big.withId(id).fragment(0, 1480, true).bytes()); // bomb: first halves only
        Pkt pod = Pkt.raw(Pkt.ICMP, new byte[1480]).withId(4242);     // ping of death: fragments past 64 KiB
        for (int off = 0; off < 65528; off += 1480) frames.add(pod.withFrag(Pkt.MF | off >>> 3).bytes());
        frames.add(pod.withFrag(65528 >>> 3).bytes());                 // the last, ending 1,480 bytes past the limit
        storm("fragments", frames);
    }

    @Test void everyTcpFlagCombinationToAListenerAndAClosedPort() {
        List<byte[]> frames = new ArrayList<>();
        for (int flags = 0; flags < 256; flags++) {
            for (int port : new int[] {80, 81}) {
                frames.add(Pkt.raw(Ipv4.PROTO_TCP, tcp(40000 + flags, port, 1000, flags * 7919, flags, 5, new byte[] {1, 2, 3})).bytes());
            }
        }
        for (int offset = 0; offset < 16; offset++) frames.add(Pkt.raw(Ipv4.PROTO_TCP, tcp(40001, 80, 1, 0, 0x02, offset, new byte[40])).bytes());
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 500; i++) { // options of random kinds and lengths on SYNs
            byte[] opts = new byte[4 * (1 + r.nextInt(10))];
            r.nextBytes(opts);
            frames.add(Pkt.raw(Ipv4.PROTO_TCP, tcp(41000 + i, 80, r.nextInt(), 0, 0x02, 5 + opts.length / 4, opts)).bytes());
        }
        storm("TCP flags", frames);
    }

    @Test void icmpErrorsQuotingJunk() {
        List<byte[]> frames = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(11);
        for (int type = 0; type < 256; type++) {
            for (int len : new int[] {0, 4, 8, 20, 28, 68, 600}) {
                byte[] junk = new byte[len];
                r.nextBytes(junk);
                if (len >= 20 && (type & 1) == 0) junk[0] = 0x45; // half of them look like an IPv4 header
                frames.add(Pkt.icmp(type, r.nextInt(16), r.nextInt(), junk).bytes());
            }
        }
        storm("ICMP junk", frames);
    }

    @Test void badArp() {
        List<byte[]> frames = new ArrayList<>();
        long bcast = -1L & 0xffff_ffff_ffffL;
        int[] senders = {0, 0xffffffff, 0x7f000001, 0xe0000001, OUR_IP, 0x0a0000ff, 0x0b000001, PEER_IP};
        for (int op = 0; op < 6; op++) {
            for (int spa : senders) {
                for (long sha : new long[] {PEER_MAC, 0, bcast, 0x01_00_5e_00_00_01L, OUR_MAC}) {
                    frames.add(Pkt.arp(bcast, PEER_MAC, op, sha, spa, 0, OUR_IP));
                }
            }
        }
        byte[] good = Pkt.arp(bcast, PEER_MAC, 1, PEER_MAC, PEER_IP, 0, OUR_IP);
        for (int field = 14; field < 14 + 6; field++) { // hardware and protocol types and lengths, every value
            for (int v = 0; v < 256; v++) {
                byte[] f = good.clone();
                f[field] = (byte) v;
                frames.add(f);
            }
        }
        for (int i = 0; i < 5000; i++) { // a flood of senders on our subnet: the table stays bounded
            frames.add(Pkt.arp(bcast, 0x02_00_00_10_00_00L + i, 1, 0x02_00_00_10_00_00L + i, 0x0a000000 | (2 + i % 250), 0, OUR_IP));
        }
        storm("ARP", frames);
    }

    /** A TCP header from us-the-peer to the kernel with a correct checksum (offset in words, options after 20 bytes). */
    private static byte[] tcp(int srcPort, int dstPort, int seq, int ack, int flags, int offsetWords, byte[] after) {
        byte[] a = new byte[20 + after.length];
        MemorySegment s = MemorySegment.ofArray(a);
        Tcp.write(s, 0, srcPort, dstPort, seq, ack, offsetWords * 4, flags, 65535, 0);
        System.arraycopy(after, 0, a, 20, after.length);
        Tcp.fillChecksum(s, 0, a.length, Checksum.pseudoHeader(PEER_IP, OUR_IP, Ipv4.PROTO_TCP, a.length));
        return a;
    }
}
