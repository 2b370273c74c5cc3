package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.OUR_MAC1;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP1;
import static org.kextnet.kernel.testing.TestNet.PEER_MAC1;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

class ForwardingTest {
    private static final Pkt THROUGH = Pkt.udp(5000, 9, Pkt.counting(64)).withDst(PEER_IP1).withId(0x0101);

    private final TestNet net = TestNet.twoLinks();

    @AfterEach void noLeaks() { net.close(); }

    @Test void forwardsWithTheTtlDecrementedAndTheChecksumPatched() {
        net.peer0().send(THROUGH);

        Frame out = net.peer1().recv();
        assertThat(out.ethSrc()).isEqualTo(OUR_MAC1);
        assertThat(out.ethDst()).isEqualTo(PEER_MAC1);
        assertThat(out.ttl()).isEqualTo(63);
        assertThat(out.ipChecksumOk()).isTrue();
        byte[] expected = THROUGH.withTtl(63).ipBytes();
        assertThat(out.ipBytes()).isEqualTo(expected); // nothing else changed, checksum equal to a full recompute
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_FORWARDED, 1L));
        net.peer0().recvNothing();
    }

    @ParameterizedTest @ValueSource(ints = {0, 1, 0x00ff, 0x7fff, 0xbfff, 0xfeff, 0xffff})
    void theIncrementalChecksumMatchesAFullRecompute(int id) {
        for (int ttl = 2; ttl <= 255; ttl += 3) {
            Pkt p = THROUGH.withId(id).withTtl(ttl).withTos(ttl);
            net.peer0().send(p);
            assertThat(net.peer1().recv().ipBytes()).isEqualTo(p.withTtl(ttl - 1).ipBytes());
        }
    }

    @ParameterizedTest @ValueSource(ints = {0, 1})
    void anExpiringTtlIsAnsweredWithTimeExceeded(int ttl) {
        Pkt p = THROUGH.withTtl(ttl);
        net.peer0().send(p);

        net.peer1().recvNothing();
        Frame err = net.peer0().recv();
        assertThat(err.src()).isEqualTo(OUR_IP);
        assertThat(err.dst()).isEqualTo(PEER_IP);
        assertThat(err.ipChecksumOk()).isTrue();
        assertThat(err.icmpType()).isEqualTo(11);
        assertThat(err.icmpCode()).isZero();
        assertThat(err.icmpChecksumOk()).isTrue();
        assertThat(err.icmpData()).isEqualTo(p.ipBytes()); // short enough to be quoted whole
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_TTL_EXCEEDED, 1L),
                entry(Stat.ICMP_ERRORS, 1L), entry(Stat.ICMP_OUT_TIME_EXCEEDED, 1L), entry(Stat.IP_LOCAL_OUT, 1L));
    }

    @Test void noRouteIsAnsweredWithNetUnreachable() {
        Pkt p = THROUGH.withDst(Ipv4.parse("192.168.1.1"));
        net.peer0().send(p);

        Frame err = net.peer0().recv();
        assertThat(err.icmpType()).isEqualTo(3);
        assertThat(err.icmpCode()).isZero();
        assertThat(err.icmpQuote().ipBytes()).isEqualTo(p.ipBytes());
        assertThat(net.stat(Stat.IP_NO_ROUTE)).isEqualTo(1);
        net.peer1().recvNothing();
    }

    // IPv4 input remembers its decision for the last addresses a thread saw (InputRouteCache): a change of
    // routes or addresses between two packets of one flow must still apply to the second.

    @Test void aRouteAddedBetweenTwoPacketsOfAFlowAppliesToTheSecond() {
        Pkt p = THROUGH.withDst(Ipv4.parse("192.168.1.1"));
        net.peer0().send(p);
        assertThat(net.peer0().recv().icmpType()).isEqualTo(3); // no route yet

        net.kernel.routes().add(new Route(0, 0, PEER_IP1, net.em1(), false));
        net.peer0().send(p);

        assertThat(net.peer1().recv().dst()).isEqualTo(Ipv4.parse("192.168.1.1"));
        assertThat(net.stat(Stat.IP_FORWARDED)).isEqualTo(1);
    }

    @Test void aRouteRemovedBetweenTwoPacketsOfAFlowStopsTheSecond() {
        net.peer0().send(THROUGH);
        assertThat(net.peer1().recv().dst()).isEqualTo(PEER_IP1);

        assertThat(net.kernel.routes().remove(Ipv4.parse("10.1.0.0"), 24)).isTrue();
        net.peer0().send(THROUGH);

        net.peer1().recvNothing();
        assertThat(net.peer0().recv().icmpType()).isEqualTo(3);
        assertThat(net.stat(Stat.IP_NO_ROUTE)).isEqualTo(1);
    }

    @Test void anAddressAddedBetweenTwoPacketsOfAFlowMakesTheSecondLocal() {
        net.peer0().send(THROUGH);
        assertThat(net.peer1().recv().dst()).isEqualTo(PEER_IP1);

        net.kernel.addAddress(net.em0(), InterfaceAddress.parse("10.1.0.2/32"));
        assertThat(net.peer0().recv().ethType()).isEqualTo(0x0806); // its gratuitous ARP
        net.markStats();
        net.peer0().send(THROUGH);

        net.peer1().recvNothing();
        Frame unreachable = net.peer0().recv(); // delivered here: nobody listens on UDP port 9
        assertThat(unreachable.icmpType()).isEqualTo(3);
        assertThat(unreachable.icmpCode()).isEqualTo(3);
        assertThat(net.statsChanged()).containsEntry(Stat.IP_DELIVERED, 1L).doesNotContainKey(Stat.IP_FORWARDED);
    }

    @Test void aBroadcastAddressAppearingBetweenTwoPacketsOfAFlowStopsTheSecondBeingForwarded() {
        Pkt toBroadcast = THROUGH.withDst(Ipv4.parse("10.5.0.255"));
        net.kernel.routes().add(new Route(Ipv4.parse("10.5.0.0"), 24, PEER_IP1, net.em1(), false));
        net.peer0().send(toBroadcast);
        assertThat(net.peer1().recv().dst()).isEqualTo(Ipv4.parse("10.5.0.255"));

        net.kernel.addAddress(net.em0(), InterfaceAddress.parse("10.5.0.1/24")); // 10.5.0.255 is now em0's broadcast
        net.markStats();
        net.peer0().send(toBroadcast);

        net.peer1().recvNothing();
        assertThat(net.statsChanged()).containsEntry(Stat.IP_DELIVERED, 1L).doesNotContainKey(Stat.IP_FORWARDED);
    }

    @Test void aDefaultRouteSendsToItsGateway() {
        net.kernel.routes().add(new Route(0, 0, PEER_IP1, net.em1(), false));
        net.peer0().send(THROUGH.withDst(Ipv4.parse("192.168.1.1")));

        Frame out = net.peer1().recv();
        assertThat(out.ethDst()).isEqualTo(PEER_MAC1);
        assertThat(out.dst()).isEqualTo(Ipv4.parse("192.168.1.1"));
        assertThat(out.ttl()).isEqualTo(63);
    }

    @Test void theLongestPrefixWins() {
        net.kernel.routes().add(new Route(Ipv4.parse("10.1.0.0"), 16, PEER_IP, net.em0(), false));
        net.peer0().send(THROUGH); // 10.1.0.2 is on em1's /24, longer than the /16 back through em0

        assertThat(net.peer1().recv().dst()).isEqualTo(PEER_IP1);
    }

    @Test void nothingIsForwardedWhenForwardingIsOff() {
        net.kernel.setForwarding(false);
        net.peer0().send(THROUGH);

        net.peer0().recvNothing();
        net.peer1().recvNothing();
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_CANT_FORWARD, 1L));
    }

    @Test void aNextHopIsResolvedBeforeForwarding() {
        int host = Ipv4.parse("10.1.0.7");
        long hostMac = 0x02_00_00_00_01_07L;
        net.peer0().send(THROUGH.withDst(host));

        Frame request = net.peer1().recv();
        assertThat(request.arpTargetIp()).isEqualTo(host);
        assertThat(request.arpSenderIp()).isEqualTo(Ipv4.parse("10.1.0.1"));
        net.peer1().send(Pkt.arp(OUR_MAC1, hostMac, 2, hostMac, host, OUR_MAC1, Ipv4.parse("10.1.0.1")));

        Frame out = net.peer1().recv();
        assertThat(out.ethDst()).isEqualTo(hostMac);
        assertThat(out.dst()).isEqualTo(host);
    }

    @Test void fragmentsAreForwardedAsTheyAre() {
        Pkt f = THROUGH.withPayload(Pkt.counting(1000)).fragment(504, 504, true);
        net.peer0().send(f);

        Frame out = net.peer1().recv();
        assertThat(out.ipBytes()).isEqualTo(f.withTtl(63).ipBytes());
        assertThat(net.stat(Stat.IP_FRAGMENTS)).isZero(); // not reassembled on the way
    }

    @Test void dontFragmentOverASmallerMtuIsAnsweredWithFragmentationNeeded() {
        net.em1().setMtu(1000);
        Pkt big = THROUGH.withPayload(Pkt.counting(1200)).withFrag(Pkt.DF);
        net.peer0().send(big);

        net.peer1().recvNothing();
        Frame err = net.peer0().recv();
        assertThat(err.icmpType()).isEqualTo(3);
        assertThat(err.icmpCode()).isEqualTo(4);
        assertThat(err.icmpNextHopMtu()).isEqualTo(1000);
        assertThat(err.icmpChecksumOk()).isTrue();
        assertThat(err.icmpQuote().ipId()).isEqualTo(big.id());
        assertThat(net.stat(Stat.IP_CANT_FRAGMENT)).isEqualTo(1);
    }

    @Test void aLargePacketIsFragmentedForASmallerMtu() {
        net.em1().setMtu(576);
        byte[] data = Pkt.counting(1400);
        Pkt big = THROUGH.withPayload(data);
        net.peer0().send(big);

        List<Frame> out = net.peer1().recvAll();
        assertThat(out).hasSize(3);
        ByteArrayOutputStream l4 = new ByteArrayOutputStream();
        for (Frame f : out) {
            assertThat(f.totalLength()).isLessThanOrEqualTo(576);
            assertThat(f.ttl()).isEqualTo(63);
            assertThat(f.ipId()).isEqualTo(big.id());
            assertThat(f.ipChecksumOk()).isTrue();
            assertThat(f.fragOffset()).isEqualTo(l4.size());
            l4.writeBytes(f.l4Bytes());
        }
        assertThat(out).extracting(Frame::moreFragments).containsExactly(true, true, false);
        assertThat(l4.toByteArray()).isEqualTo(big.l4());
        assertThat(net.stat(Stat.IP_FRAGMENTED)).isEqualTo(1);
        assertThat(net.stat(Stat.IP_FRAGMENTS_CREATED)).isEqualTo(3);
    }

    @Test void onlyOptionsWithTheCopyBitGoIntoLaterFragments() {
        net.em1().setMtu(576);
        // router alert (type 0x94, copied, length 4) and record route (type 7, not copied, length 7)
        Pkt big = THROUGH.withPayload(Pkt.counting(1000)).withOptions(0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0);
        net.peer0().send(big);

        List<Frame> out = net.peer1().recvAll();
        assertThat(out).hasSizeGreaterThan(1);
        assertThat(out.get(0).ipHeaderLength()).isEqualTo(32);
        byte[] first = out.get(0).bytes();
        assertThat(Arrays.copyOfRange(first, 14 + 20, 14 + 31)).containsExactly(0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0);
        for (Frame later : out.subList(1, out.size())) {
            assertThat(later.ipHeaderLength()).isEqualTo(24);
            assertThat(Arrays.copyOfRange(later.bytes(), 14 + 20, 14 + 24)).containsExactly(0x94, 4, 0, 0);
            assertThat(later.ipChecksumOk()).isTrue();
        }
        ByteArrayOutputStream l4 = new ByteArrayOutputStream();
        for (Frame f : out) {
            assertThat(f.fragOffset()).isEqualTo(l4.size());
            l4.writeBytes(f.l4Bytes());
        }
        assertThat(l4.toByteArray()).isEqualTo(big.l4());
    }

    @Test void aFragmentIsFragmentedAgainKeepingItsOffsetAndMoreFlag() {
        net.em1().setMtu(300);
        Pkt middle = THROUGH.withPayload(Pkt.counting(1600)).fragment(800, 600, true); // 280 + 280 + 40 bytes at MTU 300
        net.peer0().send(middle);

        List<Frame> out = net.peer1().recvAll();
        assertThat(out).extracting(Frame::fragOffset).containsExactly(800, 1080, 1360);
        assertThat(out).allSatisfy(f -> assertThat(f.moreFragments()).isTrue());
    }
}
