package org.kextnet.kernel.neighbor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.OUR_MAC;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_MAC;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

class ArpCacheTest {
    private static final long BROADCAST = 0xffff_ffff_ffffL;
    private static final int OTHER_IP = Ipv4.parse("10.0.0.3");
    private static final long OTHER_MAC = 0x02_00_00_00_00_03L;
    private static final int REQUEST = 1, REPLY = 2;

    private final TestNet net = TestNet.builder().staticArp(false).build();

    @AfterEach void noLeaks() { net.close(); }

    private static byte[] arp(int op, long sha, int spa, long tha, int tpa) {
        return Pkt.arp(op == REQUEST ? BROADCAST : OUR_MAC, sha, op, sha, spa, tha, tpa);
    }

    private ArpCache cache() { return net.kernel.arp(net.em0()); }

    private ArpCache.Entry entryFor(int ip) {
        return cache().entries().stream().filter(e -> e.ip() == ip).findFirst().orElse(null);
    }

    private void sendUdp(UdpSocket so, int dst, String text) throws Exception {
        so.send(ByteBuffer.wrap(text.getBytes()), dst, 9);
    }

    private static void assertRequestFor(Frame f, int target) {
        assertThat(f.ethType()).isEqualTo(Pkt.ETH_ARP);
        assertThat(f.ethDst()).isEqualTo(BROADCAST);
        assertThat(f.arpOp()).isEqualTo(REQUEST);
        assertThat(f.arpSenderMac()).isEqualTo(OUR_MAC);
        assertThat(f.arpSenderIp()).isEqualTo(OUR_IP);
        assertThat(f.arpTargetIp()).isEqualTo(target);
    }

    @Test void answersARequestForOurAddressAndLearnsTheAsker() {
        net.peer0().send(arp(REQUEST, PEER_MAC, PEER_IP, 0, OUR_IP));

        Frame reply = net.peer0().recv();
        assertThat(reply.ethDst()).isEqualTo(PEER_MAC);
        assertThat(reply.ethSrc()).isEqualTo(OUR_MAC);
        assertThat(reply.ethType()).isEqualTo(Pkt.ETH_ARP);
        assertThat(reply.arpOp()).isEqualTo(REPLY);
        assertThat(reply.arpSenderMac()).isEqualTo(OUR_MAC);
        assertThat(reply.arpSenderIp()).isEqualTo(OUR_IP);
        assertThat(reply.arpTargetMac()).isEqualTo(PEER_MAC);
        assertThat(reply.arpTargetIp()).isEqualTo(PEER_IP);
        assertThat(net.statsChanged()).containsOnly(entry(Stat.ARP_RX_REQUEST, 1L), entry(Stat.ARP_TX_REPLY, 1L));
        assertThat(entryFor(PEER_IP).mac()).isEqualTo(PEER_MAC);
        assertThat(entryFor(PEER_IP).state()).isEqualTo("reachable");
    }

    @Test void ignoresARequestForAnotherAddressAndLearnsNothingNew() {
        net.peer0().send(arp(REQUEST, PEER_MAC, PEER_IP, 0, OTHER_IP));

        net.peer0().recvNothing();
        assertThat(net.statsChanged()).containsOnly(entry(Stat.ARP_RX_REQUEST, 1L), entry(Stat.ARP_NOT_FOR_US, 1L));
        assertThat(cache().entries()).isEmpty();
    }

    @Test void anyArpFromAKnownNeighbourUpdatesItsEntry() {
        net.peer0().send(arp(REQUEST, PEER_MAC, PEER_IP, 0, OUR_IP));
        net.peer0().recv();
        long moved = 0x02_00_00_00_00_77L;
        net.peer0().send(Pkt.arp(BROADCAST, moved, REQUEST, moved, PEER_IP, 0, OTHER_IP));

        assertThat(entryFor(PEER_IP).mac()).isEqualTo(moved);
    }

    @Test void anUnsolicitedReplyCreatesNoEntryButAnAnswerToOurRequestIsLearned() throws Exception {
        net.peer0().send(arp(REPLY, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP));

        net.peer0().recvNothing();
        assertThat(net.statsChanged()).containsOnly(entry(Stat.ARP_RX_REPLY, 1L), entry(Stat.ARP_UNSOLICITED, 1L));
        assertThat(entryFor(PEER_IP)).isNull();

        try (UdpSocket so = net.kernel.udp().open()) {
            sendUdp(so, PEER_IP, "x"); // now we ask
        }
        assertRequestFor(net.peer0().recv(), PEER_IP);
        net.peer0().send(arp(REPLY, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP));
        assertThat(entryFor(PEER_IP).mac()).isEqualTo(PEER_MAC);
        assertThat(new String(net.peer0().recv().udpPayload())).isEqualTo("x");
    }

    @Test void sendersOffOurSubnetOrAtReservedAddressesAreNotLearnedNorAnswered() {
        int[] bogus = {Ipv4.parse("10.9.9.9"), Ipv4.parse("127.0.0.1"), Ipv4.parse("224.0.0.1"), Ipv4.parse("255.255.255.255"),
                Ipv4.parse("10.0.0.255"), Ipv4.parse("10.0.0.0")};
        for (int spa : bogus) net.peer0().send(arp(REQUEST, PEER_MAC, spa, 0, OUR_IP));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ARP_BOGUS_SENDER)).isEqualTo(bogus.length);
        assertThat(cache().entries()).isEmpty();
    }

    @Test void aPacketClaimingOurAddressIsAConflictNeitherLearnedNorAnswered() {
        net.peer0().send(arp(REPLY, PEER_MAC, OUR_IP, OUR_MAC, OUR_IP));      // "10.0.0.1 is at PEER_MAC"
        net.peer0().send(arp(REQUEST, PEER_MAC, OUR_IP, 0, OUR_IP));          // a gratuitous claim
        net.peer0().send(arp(REQUEST, PEER_MAC, OUR_IP, 0, PEER_IP));         // asking with our address

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ARP_CONFLICT)).isEqualTo(3);
        assertThat(entryFor(OUR_IP)).isNull();
        assertThat(cache().entries()).isEmpty();
    }

    @Test void malformedPacketsAreDropped() {
        byte[] good = arp(REQUEST, PEER_MAC, PEER_IP, 0, OUR_IP);
        List<byte[]> bad = List.of(
                Arrays.copyOf(good, 14 + 27),                      // one byte short
                patched(good, 14 + 1, 6),                          // hardware type 6
                patched(good, 14 + 2, 0x86),                       // protocol type 0x86dd
                patched(good, 14 + 4, 8),                          // hardware length 8
                patched(good, 14 + 5, 16),                         // protocol length 16
                patched(good, 14 + 7, 3),                          // opcode 3
                arp(REQUEST, OUR_MAC, PEER_IP, 0, OUR_IP),         // our own MAC as sender
                arp(REQUEST, 0x01_00_5e_00_00_01L, PEER_IP, 0, OUR_IP)); // multicast sender
        for (byte[] f : bad) net.peer0().send(f);

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ARP_MALFORMED)).isEqualTo(bad.size());
        assertThat(net.stat(Stat.ARP_TX_REPLY)).isZero();
        assertThat(cache().entries()).isEmpty();
        net.assertNoBuffersHeld();
    }

    private static byte[] patched(byte[] b, int at, int value) {
        byte[] c = b.clone();
        c[at] = (byte) value;
        return c;
    }

    @Test void resolvesANextHopAndSendsWhatWasHeldInOrder() throws Exception {
        try (UdpSocket so = net.kernel.udp().open()) {
            sendUdp(so, OTHER_IP, "one");
            sendUdp(so, OTHER_IP, "two");

            assertRequestFor(net.peer0().recv(), OTHER_IP);
            net.peer0().recvNothing(); // one request for both, the datagrams wait
            assertThat(entryFor(OTHER_IP).state()).isEqualTo("incomplete");

            net.peer0().send(arp(REPLY, OTHER_MAC, OTHER_IP, OUR_MAC, OUR_IP));

            List<Frame> sent = net.peer0().recvAll();
            assertThat(sent).extracting(f -> new String(f.udpPayload())).containsExactly("one", "two");
            assertThat(sent).allSatisfy(f -> assertThat(f.ethDst()).isEqualTo(OTHER_MAC));
            assertThat(entryFor(OTHER_IP).state()).isEqualTo("reachable");
        }
    }

    @Test void theHoldQueueIsBoundedAndTheRestIsDropped() throws Exception {
        try (UdpSocket so = net.kernel.udp().open()) {
            for (int i = 0; i < ArpCache.MAX_HOLD + 4; i++) sendUdp(so, OTHER_IP, "d" + i);

            assertThat(net.stat(Stat.ARP_QUEUE_FULL)).isEqualTo(4);
            assertThat(net.stat(Stat.ARP_TX_REQUEST)).isEqualTo(1);
            assertThat(net.buffersInUse()).isEqualTo(ArpCache.MAX_HOLD + 1); // + the request on the wire
            net.peer0().send(arp(REPLY, OTHER_MAC, OTHER_IP, OUR_MAC, OUR_IP));

            List<Frame> sent = net.peer0().recvAll();
            assertThat(sent).hasSize(1 + ArpCache.MAX_HOLD);
            assertThat(new String(sent.get(1).udpPayload())).isEqualTo("d0");
            assertThat(new String(sent.get(ArpCache.MAX_HOLD).udpPayload())).isEqualTo("d" + (ArpCache.MAX_HOLD - 1));
        }
    }

    @Test void retriesThenDropsWhatStayedUnresolved() throws Exception {
        try (UdpSocket so = net.kernel.udp().open()) {
            for (int i = 0; i < 3; i++) sendUdp(so, OTHER_IP, "d" + i);
            assertRequestFor(net.peer0().recv(), OTHER_IP);

            net.tick(ArpCache.RETRY_NANOS / 2, TimeUnit.NANOSECONDS);
            net.peer0().recvNothing(); // not yet
            for (int retry = 2; retry <= ArpCache.MAX_TRIES; retry++) {
                net.tick(ArpCache.RETRY_NANOS, TimeUnit.NANOSECONDS);
                assertRequestFor(net.peer0().recv(), OTHER_IP);
            }
            assertThat(net.stat(Stat.ARP_UNRESOLVED)).isZero();

            net.tick(ArpCache.RETRY_NANOS, TimeUnit.NANOSECONDS);

            net.peer0().recvNothing();
            assertThat(net.stat(Stat.ARP_UNRESOLVED)).isEqualTo(3);
            assertThat(net.stat(Stat.ARP_TX_REQUEST)).isEqualTo(ArpCache.MAX_TRIES);
            assertThat(entryFor(OTHER_IP)).isNull();
            net.assertNoBuffersHeld();
        }
    }

    @Test void aLearnedEntryExpiresAndIsResolvedAgain() throws Exception {
        net.peer0().send(arp(REQUEST, PEER_MAC, PEER_IP, 0, OUR_IP));
        net.peer0().recv();
        try (UdpSocket so = net.kernel.udp().open()) {
            sendUdp(so, PEER_IP, "fresh");
            assertThat(net.peer0().recv().ethDst()).isEqualTo(PEER_MAC);

            net.tick(ArpCache.REACHABLE_NANOS, TimeUnit.NANOSECONDS);
            assertThat(entryFor(PEER_IP)).isNull();
            sendUdp(so, PEER_IP, "stale");

            assertRequestFor(net.peer0().recv(), PEER_IP);
        }
    }

    @Test void aStaticEntryIsNeitherOverwrittenNorExpired() throws Exception {
        cache().addStatic(PEER_IP, PEER_MAC);
        net.peer0().send(arp(REQUEST, 0x02_00_00_00_00_66L, PEER_IP, 0, OUR_IP));
        net.peer0().recv(); // the reply
        net.tick(2 * ArpCache.REACHABLE_NANOS, TimeUnit.NANOSECONDS);

        assertThat(entryFor(PEER_IP).mac()).isEqualTo(PEER_MAC);
        assertThat(entryFor(PEER_IP).state()).isEqualTo("static");
        try (UdpSocket so = net.kernel.udp().open()) {
            sendUdp(so, PEER_IP, "x");
            assertThat(net.peer0().recv().ethDst()).isEqualTo(PEER_MAC);
        }
    }

    @Test void addingAStaticEntryReleasesHeldPackets() throws Exception {
        try (UdpSocket so = net.kernel.udp().open()) {
            sendUdp(so, OTHER_IP, "held");
            net.peer0().recv(); // request
            cache().addStatic(OTHER_IP, OTHER_MAC);

            Frame f = net.peer0().recv();
            assertThat(f.ethDst()).isEqualTo(OTHER_MAC);
            assertThat(new String(f.udpPayload())).isEqualTo("held");
        }
    }

    @Test void deletingAnEntryDropsWhatItHeld() throws Exception {
        try (UdpSocket so = net.kernel.udp().open()) {
            sendUdp(so, OTHER_IP, "held");
            net.peer0().recv();

            assertThat(cache().delete(OTHER_IP)).isTrue();
            assertThat(cache().delete(OTHER_IP)).isFalse();
            assertThat(net.stat(Stat.ARP_UNRESOLVED)).isEqualTo(1);
            net.assertNoBuffersHeld();
        }
    }

    @Test void addingAnAddressToAnUpInterfaceAnnouncesIt() {
        int added = Ipv4.parse("10.0.0.5");
        net.kernel.addAddress(net.em0(), new InterfaceAddress(added, 24));

        Frame f = net.peer0().recv();
        assertThat(f.ethDst()).isEqualTo(BROADCAST);
        assertThat(f.arpOp()).isEqualTo(REQUEST);
        assertThat(f.arpSenderMac()).isEqualTo(OUR_MAC);
        assertThat(f.arpSenderIp()).isEqualTo(added);
        assertThat(f.arpTargetIp()).isEqualTo(added);
        assertThat(f.arpTargetMac()).isZero();
        assertThat(net.statsChanged()).containsOnly(entry(Stat.ARP_TX_GRATUITOUS, 1L));
    }

    @Test void bringingAnInterfaceUpAnnouncesEachAddress() {
        net.em0().down();
        net.kernel.addAddress(net.em0(), new InterfaceAddress(Ipv4.parse("10.0.0.5"), 24));
        net.peer0().recvNothing(); // down: nothing announced

        net.em0().up();

        assertThat(net.peer0().recvAll()).extracting(Frame::arpTargetIp).containsExactly(OUR_IP, Ipv4.parse("10.0.0.5"));
    }

    @Test void aGratuitousArpFromANeighbourUpdatesButDoesNotCreate() {
        net.peer0().send(arp(REQUEST, PEER_MAC, PEER_IP, 0, PEER_IP));

        net.peer0().recvNothing();
        assertThat(entryFor(PEER_IP)).isNull();
    }

    /** A flood of requests from 100,000 senders of a /16: the table stays within its bounds, as Linux's does. */
    @Test void aFloodOfSendersKeepsTheTableBounded() {
        net.kernel.addAddress(net.em0(), InterfaceAddress.parse("10.200.0.1/16"));
        int us = Ipv4.parse("10.200.0.1");
        net.peer0().drain();
        net.markStats();
        for (int i = 0; i < 100_000; i++) {
            int sender = Ipv4.parse("10.200.0.0") + 2 + (i % 65_000);
            long mac = 0x02_00_10_00_00_00L + i;
            net.peer0().send(arp(REQUEST, mac, sender, 0, us));
            net.peer0().drain();
            if (i % 1000 == 999) net.tick(1, TimeUnit.SECONDS);
            assertThat(cache().size()).isLessThanOrEqualTo(NeighborCache.GC_THRESH3);
        }
        assertThat(net.stat(Stat.ARP_TX_REPLY)).isEqualTo(100_000); // every asker still got its answer
        assertThat(net.stat(Stat.ARP_COLLECTED)).isPositive();
        assertThat(cache().size()).isBetween(NeighborCache.GC_THRESH2, NeighborCache.GC_THRESH3);
        // The neighbour we talk to stays reachable through the flood: used entries are collected last.
        net.assertNoBuffersHeld();
    }

    @Test void unresolvedNeighboursAndTheirPacketsAreBounded() throws Exception {
        try (TestNet big = TestNet.builder().staticArp(false).smallBuffers(4096).build()) {
            big.kernel.addAddress(big.em0(), InterfaceAddress.parse("10.200.0.1/16"));
            big.peer0().drain();
            try (UdpSocket so = big.kernel.udp().open()) {
                for (int i = 0; i < 2 * NeighborCache.MAX_UNRESOLVED; i++) sendUdp(so, Ipv4.parse("10.200.1.0") + i, "x");
            }
            big.peer0().drain();
            ArpCache arp = big.kernel.arp(big.em0());
            long waiting = arp.entries().stream().filter(e -> e.state().equals("incomplete")).count();
            assertThat(waiting).isEqualTo(NeighborCache.MAX_UNRESOLVED);
            assertThat(big.stat(Stat.ARP_QUEUE_FULL)).isEqualTo(NeighborCache.MAX_UNRESOLVED);
        }
    }
}
