package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

class IpInputTest {
    private static final Pkt ECHO = Pkt.echo(0x1234, 1, Pkt.counting(32));

    private final TestNet net = TestNet.oneLink();

    @AfterEach void noLeaks() { net.close(); }

    @Test void aValidPacketIsDeliveredAndAnswered() {
        net.peer0().send(ECHO);

        Frame reply = net.peer0().recv();
        assertThat(reply.ipChecksumOk()).isTrue();
        assertThat(reply.icmpType()).isZero();
        assertThat(net.statsChanged()).containsOnly(
                entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_DELIVERED, 1L), entry(Stat.ICMP_IN_ECHO, 1L),
                entry(Stat.ICMP_OUT_ECHO_REPLY, 1L), entry(Stat.IP_LOCAL_OUT, 1L));
    }

    /** Malformed headers, each with the one counter its drop is charged to. */
    static Iterable<Arguments> malformed() {
        int full = 14 + 20 + 8 + 32;
        return java.util.List.of(
                Arguments.of("shorter than a header", ECHO.truncatedTo(14 + 19), Stat.IP_TOO_SHORT),
                Arguments.of("version 6", ECHO.withVersion(6), Stat.IP_BAD_VERSION),
                Arguments.of("version 0", ECHO.withVersion(0), Stat.IP_BAD_VERSION),
                Arguments.of("header length 16", ECHO.withIhl(4), Stat.IP_BAD_HLEN),
                Arguments.of("header length 0", ECHO.withIhl(0), Stat.IP_BAD_HLEN),
                Arguments.of("header longer than the packet", ECHO.withIhl(15).truncatedTo(14 + 40), Stat.IP_BAD_HLEN),
                Arguments.of("total length < header", ECHO.withTotalLength(19), Stat.IP_BAD_LEN),
                Arguments.of("total length 0", ECHO.withTotalLength(0), Stat.IP_BAD_LEN),
                Arguments.of("total length > frame", ECHO.withTotalLength(20 + 8 + 33), Stat.IP_TOO_SMALL),
                Arguments.of("truncated payload", ECHO.truncatedTo(full - 1), Stat.IP_TOO_SMALL),
                Arguments.of("total length 65535", ECHO.withTotalLength(65535), Stat.IP_TOO_SMALL),
                Arguments.of("bad header checksum", ECHO.withIpChecksum(0x1234), Stat.IP_BAD_SUM),
                Arguments.of("option length 0", ECHO.withOptions(7, 0, 4, 0), Stat.IP_BAD_OPTIONS),
                Arguments.of("option length 1", ECHO.withOptions(7, 1, 4, 0), Stat.IP_BAD_OPTIONS),
                Arguments.of("option past the header", ECHO.withOptions(1, 7, 8, 4), Stat.IP_BAD_OPTIONS),
                Arguments.of("option type with no length byte", ECHO.withOptions(1, 1, 1, 7), Stat.IP_BAD_OPTIONS),
                Arguments.of("loopback source", ECHO.withSrc(Ipv4.parse("127.0.0.1")), Stat.IP_BAD_ADDRESS),
                Arguments.of("multicast source", ECHO.withSrc(Ipv4.parse("224.0.0.1")), Stat.IP_BAD_ADDRESS),
                Arguments.of("broadcast source", ECHO.withSrc(-1), Stat.IP_BAD_ADDRESS),
                Arguments.of("source in 0/8", ECHO.withSrc(Ipv4.parse("0.1.2.3")), Stat.IP_BAD_ADDRESS),
                Arguments.of("our own address as source", ECHO.withSrc(OUR_IP), Stat.IP_BAD_ADDRESS),
                Arguments.of("loopback destination", ECHO.withDst(Ipv4.parse("127.0.0.1")), Stat.IP_BAD_ADDRESS),
                Arguments.of("destination 0.0.0.0", ECHO.withDst(0), Stat.IP_BAD_ADDRESS));
    }

    @ParameterizedTest(name = "{0}") @MethodSource("malformed")
    void malformedPacketsAreCountedAndDropped(String what, Pkt pkt, Stat reason) {
        net.peer0().send(pkt);

        net.peer0().recvNothing();
        assertThat(net.statsChanged()).as(what).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(reason, 1L));
        net.assertNoBuffersHeld();
    }

    @Test void aSpoofedEchoFromOurselvesCannotStartALoopOnLo0() throws Exception {
        try (var echo = org.kextnet.kernel.inet.udp.UdpEchoService.start(net.kernel.udp(), 7)) {
            long lo0 = net.kernel.loopback().counters().get(org.kextnet.kernel.net.IfCounters.IPACKETS);
            net.peer0().send(Pkt.udp(7, 7, "loop").withSrc(OUR_IP));

            assertThat(net.stat(Stat.IP_BAD_ADDRESS)).isEqualTo(1);
            assertThat(net.stat(Stat.UDP_IN)).isZero();
            assertThat(net.kernel.loopback().counters().get(org.kextnet.kernel.net.IfCounters.IPACKETS)).isEqualTo(lo0);
        }
    }

    @Test void wellFormedOptionsAreSkipped() {
        // NOP, record route (length 7, pointer 4, one empty slot), end of list
        net.peer0().send(ECHO.withOptions(1, 7, 7, 4, 0, 0, 0, 0));

        Frame reply = net.peer0().recv();
        assertThat(reply.icmpType()).isZero();
        assertThat(reply.ipChecksumOk()).isTrue();
        assertThat(reply.icmpChecksumOk()).isTrue();
        assertThat(net.stat(Stat.IP_BAD_OPTIONS)).isZero();
    }

    @Test void theLongestOptionListIsAccepted() {
        int[] opts = new int[40];
        opts[0] = 7; opts[1] = 39; opts[2] = 4; // record route filling the header
        net.peer0().send(ECHO.withOptions(opts));

        assertThat(net.peer0().recv().icmpType()).isZero();
    }

    @Test void bytesAfterTheEndOfOptionListAreIgnored() {
        net.peer0().send(ECHO.withOptions(0, 0xff, 0xff, 0xff));

        assertThat(net.peer0().recv().icmpType()).isZero();
    }

    @Test void aFlippedHeaderBitIsCaughtByTheChecksum() {
        byte[] f = ECHO.bytes();
        f[14 + 1] ^= 0x04; // TOS
        net.peer0().send(f);

        assertThat(net.stat(Stat.IP_BAD_SUM)).isEqualTo(1);
    }

    @Test void aMulticastDestinationIsNotForwardedNorDelivered() {
        net.peer0().send(ECHO.withDst(Ipv4.parse("224.0.0.251")));

        net.peer0().recvNothing();
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_CANT_FORWARD, 1L));
    }

    @Test void aPacketForAnotherHostIsDroppedWhenNotForwarding() {
        net.peer0().send(ECHO.withDst(Ipv4.parse("10.0.0.9")));

        net.peer0().recvNothing();
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_CANT_FORWARD, 1L));
    }

    @Test void aUnicastPacketForAnotherHostInABroadcastFrameIsNotDeliveredHere() throws Exception {
        try (UdpSocket so = net.kernel.udp().open().bind(0, 9)) {
            net.peer0().send(Pkt.udp(5000, 9, "not ours").withDst(Ipv4.parse("10.0.0.9")).withEthDst(0xffff_ffff_ffffL));

            assertThat(so.tryReceive(ByteBuffer.allocate(64))).isNull();
            assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_CANT_FORWARD, 1L));
        }
    }

    @Test void anUnknownProtocolIsAnsweredWithProtocolUnreachable() {
        Pkt p = Pkt.raw(99, Pkt.counting(12));
        net.peer0().send(p);

        Frame err = net.peer0().recv();
        assertThat(err.icmpType()).isEqualTo(3);
        assertThat(err.icmpCode()).isEqualTo(2);
        assertThat(err.icmpQuote().ipBytes()).isEqualTo(p.ipBytes());
        assertThat(net.statsChanged()).contains(entry(Stat.IP_NO_PROTO, 1L), entry(Stat.ICMP_OUT_UNREACH, 1L));
    }

    @Test void subnetAndLimitedBroadcastsAreDeliveredAsBroadcasts() throws Exception {
        try (UdpSocket so = net.kernel.udp().open().bind(0, 9)) {
            net.peer0().send(Pkt.udp(5000, 9, "subnet").withDst(Ipv4.parse("10.0.0.255")).withEthDst(0xffff_ffff_ffffL));
            net.peer0().send(Pkt.udp(5000, 9, "all").withDst(-1).withEthDst(0xffff_ffff_ffffL));

            ByteBuffer b = ByteBuffer.allocate(64);
            UdpDatagram d1 = so.tryReceive(b);
            UdpDatagram d2 = so.tryReceive(b);
            assertThat(d1).isNotNull();
            assertThat(d2).isNotNull();
            assertThat(d1.sourceAddress()).isEqualTo(PEER_IP);
        }
    }

    @Test void noEchoReplyToABroadcastPing() {
        net.peer0().send(ECHO.withDst(Ipv4.parse("10.0.0.255")).withEthDst(0xffff_ffff_ffffL));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ICMP_OUT_ECHO_REPLY)).isZero();
    }

    @Test void aPacketToAnotherOfOurAddressesIsDelivered() {
        net.kernel.addAddress(net.em0(), new org.kextnet.kernel.net.InterfaceAddress(Ipv4.parse("192.168.7.1"), 24));
        net.peer0().drain();
        net.peer0().send(ECHO.withDst(Ipv4.parse("192.168.7.1")));

        Frame reply = net.peer0().recv();
        assertThat(reply.src()).isEqualTo(Ipv4.parse("192.168.7.1"));
        assertThat(reply.dst()).isEqualTo(PEER_IP);
    }
}
