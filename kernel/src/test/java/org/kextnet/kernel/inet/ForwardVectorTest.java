package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.kextnet.kernel.testing.TestNet.OUR_MAC1;
import static org.kextnet.kernel.testing.TestNet.PEER_IP1;
import static org.kextnet.kernel.testing.TestNet.PEER_MAC1;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * The vector path: a batch of received frames goes through Ethernet, IPv4 input and output layer by layer
 * (Ethernet's batch input, {@link IpInput}'s vector input, {@link ForwardVector}). Every packet must come out
 * as if it had gone through the stack alone: in order, counted once, with every filter and slow case (IP
 * options, an expiring TTL, fragmentation, ARP) handled in its place.
 */
class ForwardVectorTest {
    private static final Pkt THROUGH = Pkt.udp(5000, 9, Pkt.counting(32)).withDst(PEER_IP1);

    private final TestNet net = TestNet.twoLinks();

    @AfterEach void noLeaks() {
        net.peer0().drain();
        net.peer1().drain();
        net.assertNoBuffersHeld();
        net.close();
    }

    private static List<Pkt> numbered(int n) {
        List<Pkt> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add(THROUGH.withId(i));
        return l;
    }

    private static List<Integer> ids(List<Frame> frames) {
        return frames.stream().map(Frame::ipId).toList();
    }

    private static int id(Mbuf m) {
        byte[] b = ((Packet) m).toByteArray();
        return (b[4] & 0xff) << 8 | b[5] & 0xff;
    }

    @Test void aBatchIsForwardedInOrderAndCountedOnce() {
        long packets0 = net.em1().counters().get(IfCounters.OPACKETS), bytes0 = net.em1().counters().get(IfCounters.OBYTES);

        net.peer0().sendBatch(numbered(50));

        List<Frame> out = net.peer1().recvAll();
        assertThat(ids(out)).isEqualTo(numbered(50).stream().map(Pkt::id).toList());
        for (Frame f : out) {
            assertThat(f.ethSrc()).isEqualTo(OUR_MAC1);
            assertThat(f.ethDst()).isEqualTo(PEER_MAC1);
            assertThat(f.ttl()).isEqualTo(63);
            assertThat(f.ipChecksumOk()).isTrue();
        }
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 50L), entry(Stat.IP_FORWARDED, 50L));
        assertThat(net.em1().counters().get(IfCounters.OPACKETS) - packets0).isEqualTo(50);
        assertThat(net.em1().counters().get(IfCounters.OBYTES) - bytes0).isEqualTo(out.stream().mapToLong(Frame::length).sum());
    }

    @Test void packetsThatLeaveTheVectorKeepTheirPlaceInTheOrder() {
        // IP options and an expiring TTL take IPv4 input's one-by-one path; a ping to us and an ARP request are
        // not forwarded at all. The forwarded ones must still leave in the order they came.
        List<Pkt> batch = new ArrayList<>();
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Pkt p = THROUGH.withId(i);
            switch (i % 5) {
                case 1 -> p = p.withOptions(1, 1, 1, 0); // NOPs and end of options: header length 24
                case 3 -> p = p.withTtl(1);
                default -> { }
            }
            batch.add(p);
            if (i % 5 != 3) expected.add(i);
        }
        batch.add(7, Pkt.echo(1, 1, Pkt.counting(8)));

        net.peer0().sendBatch(batch);

        assertThat(ids(net.peer1().recvAll())).isEqualTo(expected);
        List<Frame> back = net.peer0().recvAll(); // the echo reply and 8 time-exceeded errors
        assertThat(back).hasSize(9);
        assertThat(net.stat(Stat.IP_TOTAL)).isEqualTo(41);
        assertThat(net.stat(Stat.IP_FORWARDED)).isEqualTo(32);
        assertThat(net.stat(Stat.IP_TTL_EXCEEDED)).isEqualTo(8);
    }

    @Test void aBatchLargerThanAVectorIsCutIntoVectorsInOrder() {
        // A driver may hand over more frames than a vector holds: straight to Interface.input, 150 at once.
        List<Pkt> ps = numbered(150);
        Packet[] batch = new Packet[ps.size()];
        for (int i = 0; i < batch.length; i++) batch[i] = net.mbuf(ps.get(i).bytes());
        net.em0().input(net.ctx, batch, batch.length);

        assertThat(ids(net.peer1().recvAll())).isEqualTo(ps.stream().map(Pkt::id).toList());
        assertThat(batch).containsOnlyNulls();
        assertThat(net.stat(Stat.IP_FORWARDED)).isEqualTo(150);
    }

    @Test void aPacketLargerThanTheMtuIsFragmentedInItsPlace() {
        net.em1().setMtu(576);
        List<Pkt> batch = List.of(THROUGH.withId(1), THROUGH.withId(2).withPayload(Pkt.counting(1000)), THROUGH.withId(3));

        net.peer0().sendBatch(batch);

        List<Frame> out = net.peer1().recvAll();
        assertThat(ids(out)).containsExactly(1, 2, 2, 3);
        assertThat(out.get(1).moreFragments()).isTrue();
        assertThat(out.get(2).fragOffset()).isPositive();
        assertThat(net.stat(Stat.IP_FRAGMENTED)).isEqualTo(1);
        assertThat(net.stat(Stat.IP_FORWARDED)).isEqualTo(3);
    }

    @Test void anUnresolvedNextHopHoldsTheRunUntilArpAnswersThenSendsItInOrder() {
        try (TestNet arpNet = TestNet.builder().links(2).forwarding(true).staticArp(false).build()) {
            List<Pkt> ps = numbered(5);
            arpNet.peer0().sendBatch(ps);

            List<Frame> requests = arpNet.peer1().recvAll();
            assertThat(requests).hasSize(1); // one request for the next hop, not one per packet
            assertThat(requests.get(0).ethType()).isEqualTo(Pkt.ETH_ARP);
            assertThat(requests.get(0).arpTargetIp()).isEqualTo(PEER_IP1);

            arpNet.peer1().send(Pkt.arp(OUR_MAC1, PEER_MAC1, 2, PEER_MAC1, PEER_IP1, OUR_MAC1, TestNet.OUR_IP1));

            List<Frame> out = arpNet.peer1().recvAll();
            assertThat(ids(out)).isEqualTo(ps.stream().map(Pkt::id).toList());
            assertThat(out).allSatisfy(f -> assertThat(f.ethDst()).isEqualTo(PEER_MAC1));
            arpNet.peer0().drain();
            arpNet.assertNoBuffersHeld();
        }
    }

    @Test void anIpOutputFilterSeesEachPacketOnlyAfterThePacketsBeforeItHaveBeenSent() throws KpiException {
        // The guarantee that makes take-and-re-inject-later safe: when the filter is called for packet i,
        // packets 0..i-1 are already with the driver, where the peer can take them, so nothing it
        // re-injects can overtake them.
        List<String> problems = new ArrayList<>();
        List<Integer> taken = new ArrayList<>();
        ExtensionHandle ext = net.kernel.nke().open("watcher");
        ext.ipFilters().addV4("watch", Position.DEFAULT, new IpFilter() {
            int seen;
            @Override public int output(Mbuf m, IpPacketOptions o) {
                for (Frame f; (f = net.peer1().recvOrNull()) != null; ) taken.add(f.ipId());
                if (taken.size() != seen) problems.add("packet " + id(m) + ": " + taken.size() + " sent before it, expected " + seen);
                seen++;
                return 0;
            }
        });

        net.peer0().sendBatch(numbered(30));

        assertThat(problems).isEmpty();
        taken.addAll(ids(net.peer1().recvAll()));
        assertThat(taken).isEqualTo(numbered(30).stream().map(Pkt::id).toList());
        ext.close();
    }

    @Test void packetsAFilterTakesAndReInjectsAtOnceStayInOrder() throws KpiException {
        AtomicReference<IpFilterRef> self = new AtomicReference<>();
        ExtensionHandle ext = net.kernel.nke().open("reinjector");
        self.set(ext.ipFilters().addV4("every-third", Position.DEFAULT, new IpFilter() {
            @Override public int output(Mbuf m, IpPacketOptions o) {
                if (id(m) % 3 != 0) return 0;
                int r = ext.ipFilters().injectOutput(m, self.get(), o); // resumes after this filter
                assertThat(r).isZero();
                return Errno.EJUSTRETURN;
            }
        }));

        net.peer0().sendBatch(numbered(30));

        assertThat(ids(net.peer1().recvAll())).isEqualTo(numbered(30).stream().map(Pkt::id).toList());
        assertThat(net.stat(Stat.IP_FILTER_TAKEN)).isEqualTo(10);
        assertThat(net.stat(Stat.IP_FORWARDED)).isEqualTo(20); // the re-injected ten count as local output
        ext.close();
    }

    @Test void aBatchACallbackSendsThroughTheStackLeavesWhereTheOnePacketPathWouldSendIt() throws KpiException {
        // While the vector path's run holds a claim on em1's wire, a filter's callback pushes a batch of its own
        // through em0 on another packet context: it runs as a vector too, on the same thread, whose claim is
        // taken. Its frames must not fail for that, and leave right after the packet whose filter call sent them.
        List<Pkt> nested = List.of(THROUGH.withId(100), THROUGH.withId(101), THROUGH.withId(102));
        ExtensionHandle ext = net.kernel.nke().open("nester");
        ext.ipFilters().addV4("push", Position.DEFAULT, new IpFilter() {
            boolean inside;
            @Override public int output(Mbuf m, IpPacketOptions o) {
                if (id(m) == 5 && !inside) {
                    inside = true;
                    org.kextnet.kernel.net.PacketContext other = net.kernel.contexts().open();
                    Packet[] batch = new Packet[nested.size()];
                    for (int i = 0; i < batch.length; i++) batch[i] = net.mbuf(nested.get(i).bytes());
                    net.em0().input(other, batch, batch.length);
                    other.close();
                    inside = false;
                }
                return 0;
            }
        });

        net.peer0().sendBatch(numbered(10));

        assertThat(ids(net.peer1().recvAll())).containsExactly(0, 1, 2, 3, 4, 100, 101, 102, 5, 6, 7, 8, 9);
        assertThat(net.stat(Stat.IP_FORWARDED)).isEqualTo(13);
        ext.close();
    }

    @Test void anIpOutputFilterDropsSomePacketsOfTheVectorAndTheRestGoOn() throws KpiException {
        ExtensionHandle ext = net.kernel.nke().open("dropper");
        ext.ipFilters().addV4("odd", Position.DEFAULT, new IpFilter() {
            @Override public int output(Mbuf m, IpPacketOptions o) {
                return id(m) % 2 == 1 ? Errno.EPERM : 0;
            }
        });

        net.peer0().sendBatch(numbered(20));

        assertThat(ids(net.peer1().recvAll())).containsExactly(0, 2, 4, 6, 8, 10, 12, 14, 16, 18);
        assertThat(net.stat(Stat.IP_FILTERED)).isEqualTo(10);
        assertThat(net.stat(Stat.IP_FORWARDED)).isEqualTo(10);
        ext.close();
    }

    @Test void interfaceFiltersSeeEveryFrameOfABatch() throws KpiException {
        List<Integer> in = new ArrayList<>(), out = new ArrayList<>();
        ExtensionHandle ext = net.kernel.nke().open("iff");
        ext.interfaceFilters().attach(net.em0(), "in", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int input(Ifnet ifp, int pf, Mbuf m, int frameHeader) {
                in.add(id(m));
                return 0;
            }
        });
        ext.interfaceFilters().attach(net.em1(), "out", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int output(Ifnet ifp, int pf, Mbuf m) {
                byte[] b = ((Packet) m).toByteArray(); // the whole frame: the IP id is at 14 + 4
                out.add((b[18] & 0xff) << 8 | b[19] & 0xff);
                return 0;
            }
        });

        net.peer0().sendBatch(numbered(20));

        List<Integer> expected = numbered(20).stream().map(Pkt::id).toList();
        assertThat(in).isEqualTo(expected);
        assertThat(out).isEqualTo(expected);
        assertThat(ids(net.peer1().recvAll())).isEqualTo(expected);
        ext.close();
    }

    @Test void aBatchFromAPointToPointLinkTakesTheVectorPathToo() {
        // A TUN-like interface (raw IP, no link header) on a memory wire: its batches go through RawIpLink's
        // side of the vector path; an IPv6 packet among them goes one by one (and is dropped: no IPv6 yet).
        MemoryWire wire = new MemoryWire("p2p", MemoryWire.Options.perfect().withPollMode(true));
        Interface tun = net.kernel.createInterface("tun0", IfFamily.TUN, wire.a(), 0, 1500);
        net.kernel.addAddress(tun, InterfaceAddress.parse("10.2.0.1/24"));
        tun.up();
        net.markStats();
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            Pkt p = THROUGH.withId(i).withSrc(Ipv4.parse("10.2.0.2")).withoutEthernet();
            if (i == 10) p = p.withVersion(6);
            else expected.add(i);
            assertThat(wire.a().offer(net.mbuf(p.bytes()))).isTrue();
        }
        while (wire.a().poll(net.ctx) > 0) { /* until the ring is empty */ }

        assertThat(ids(net.peer1().recvAll())).isEqualTo(expected);
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 29L), entry(Stat.IP_FORWARDED, 29L),
                entry(Stat.LINK_UNKNOWN_TYPE, 1L));
        wire.a().stop();
    }

    @Test void aLinkThatGoesDownDropsTheBatchAndCountsIt() {
        net.em1().down();
        net.markStats();
        long drops0 = net.em1().counters().get(IfCounters.ODROPS);

        net.peer0().sendBatch(numbered(10));

        net.peer1().recvNothing();
        assertThat(net.statsChanged()).contains(entry(Stat.IP_FORWARDED, 10L), entry(Stat.LINK_DOWN, 10L));
        assertThat(net.em1().counters().get(IfCounters.ODROPS) - drops0).isEqualTo(10);
    }
}
