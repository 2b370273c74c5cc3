package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP1;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;

class IcmpLayerTest {
    private static final Pkt CLOSED_PORT = Pkt.udp(5000, 9999, "anyone?");

    private final TestNet net = TestNet.twoLinks();

    @AfterEach void noLeaks() { net.close(); }

    @ParameterizedTest @ValueSource(ints = {0, 1, 56, 1471})
    void anEchoRequestIsAnsweredInPlace(int size) {
        byte[] data = Pkt.counting(size);
        net.peer0().send(Pkt.echo(0xbeef, 42, data).withTtl(3).withFrag(Pkt.DF));

        Frame r = net.peer0().recv();
        assertThat(r.src()).isEqualTo(OUR_IP);
        assertThat(r.dst()).isEqualTo(PEER_IP);
        assertThat(r.ttl()).isEqualTo(64);
        assertThat(r.ipChecksumOk()).isTrue();
        assertThat(r.icmpType()).isZero();
        assertThat(r.icmpCode()).isZero();
        assertThat(r.icmpId()).isEqualTo(0xbeef);
        assertThat(r.icmpSeq()).isEqualTo(42);
        assertThat(r.icmpChecksumOk()).isTrue();
        assertThat(r.icmpData()).isEqualTo(data);
        assertThat(net.statsChanged()).containsOnly(
                entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_DELIVERED, 1L), entry(Stat.ICMP_IN_ECHO, 1L),
                entry(Stat.ICMP_OUT_ECHO_REPLY, 1L), entry(Stat.IP_LOCAL_OUT, 1L));
    }

    /** The reply reuses the request's buffer, but not what this host attached to the request (FreeBSD's icmp_reflect). */
    @Test void anEchoReplyLeavesTheRequestsTagsBehind() throws KpiException {
        List<String> outTags = new CopyOnWriteArrayList<>();
        ExtensionHandle ext = net.kernel.nke().open("tagger");
        ext.ipFilters().addV4("tag", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                m.tagAllocate(0x7461, 1, 4)[0] = 1;
                return 0;
            }
            @Override public int output(Mbuf m, IpPacketOptions o) {
                outTags.add(m.tagFind(0x7461, 1) == null ? "untagged" : "tagged");
                return 0;
            }
        });
        net.peer0().send(Pkt.echo(7, 1, Pkt.counting(8)));

        assertThat(net.peer0().recv().icmpType()).isZero();
        assertThat(outTags).containsExactly("untagged");
        ext.close();
    }

    @Test void aMessageShorterThanItsHeaderIsDropped() {
        net.peer0().send(Pkt.raw(Pkt.ICMP, new byte[] {8, 0, (byte) 0xf7, (byte) 0xff, 0, 0, 0}));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ICMP_TOO_SHORT)).isEqualTo(1);
    }

    @Test void aBadChecksumIsDropped() {
        net.peer0().send(Pkt.echo(1, 1, Pkt.counting(8)).withL4Checksum(0x1234));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ICMP_BAD_SUM)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_IN_ECHO)).isZero();
    }

    @Test void anEchoReplyGoesToItsListener() {
        List<Integer> seqs = new CopyOnWriteArrayList<>();
        net.kernel.icmp().onEchoReply(77, seqs::add);
        net.peer0().send(Pkt.icmp(0, 0, 77 << 16 | 5, new byte[8]));
        net.peer0().send(Pkt.icmp(0, 0, 78 << 16 | 6, new byte[8])); // someone else's

        assertThat(seqs).containsExactly(5);
        assertThat(net.stat(Stat.ICMP_IN_ECHO_REPLY)).isEqualTo(2);
        net.kernel.icmp().onEchoReply(77, null);
    }

    @Test void incomingErrorsAndOtherTypesAreCountedAndDropped() {
        net.peer0().send(Pkt.icmp(3, 3, 0, new byte[28]));
        net.peer0().send(Pkt.icmp(11, 0, 0, new byte[28]));
        net.peer0().send(Pkt.icmp(13, 0, 0, new byte[12])); // timestamp

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ICMP_IN_UNREACH)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_IN_TIME_EXCEEDED)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_IN_OTHER)).isEqualTo(1);
        net.assertNoBuffersHeld();
    }

    @Test void sendsAnEchoRequest() {
        assertThat(net.kernel.icmp().sendEcho(net.ctx, PEER_IP, 9, 10, 20)).isZero();

        Frame f = net.peer0().recv();
        assertThat(f.icmpType()).isEqualTo(8);
        assertThat(f.icmpId()).isEqualTo(9);
        assertThat(f.icmpSeq()).isEqualTo(10);
        assertThat(f.icmpData()).isEqualTo(Pkt.counting(20));
        assertThat(f.icmpChecksumOk()).isTrue();
        assertThat(f.ipChecksumOk()).isTrue();
        assertThat(net.stat(Stat.ICMP_OUT_ECHO)).isEqualTo(1);
    }

    @Test void noErrorAboutAnIcmpError() {
        net.peer0().send(Pkt.icmp(3, 1, 0, new byte[28]).withDst(PEER_IP1).withTtl(1));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.IP_TTL_EXCEEDED)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_ERROR_ON_ICMP)).isEqualTo(1);
    }

    @Test void anEchoRequestIsNotAnErrorAndGetsOne() {
        net.peer0().send(Pkt.echo(1, 1, new byte[8]).withDst(PEER_IP1).withTtl(1));

        assertThat(net.peer0().recv().icmpType()).isEqualTo(11);
    }

    @Test void noErrorAboutANonFirstFragment() {
        Pkt tail = Pkt.udp(5000, 9, Pkt.counting(100)).withDst(PEER_IP1).withTtl(1).fragment(64, 44, false);
        net.peer0().send(tail);

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ICMP_ERROR_NOT_SENT)).isEqualTo(1);
    }

    @Test void theFirstFragmentGetsAnError() {
        Pkt head = Pkt.udp(5000, 9, Pkt.counting(100)).withDst(PEER_IP1).withTtl(1).fragment(0, 64, true);
        net.peer0().send(head);

        assertThat(net.peer0().recv().icmpType()).isEqualTo(11);
    }

    @Test void noErrorAboutABroadcast() {
        net.peer0().send(Pkt.raw(99, new byte[8]).withDst(Ipv4.parse("10.0.0.255")).withEthDst(0xffff_ffff_ffffL));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.IP_NO_PROTO)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_ERROR_NOT_SENT)).isEqualTo(1);
    }

    @Test void noErrorToAnUnspecifiedSource() {
        net.peer0().send(CLOSED_PORT.withSrc(0));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.UDP_NO_PORT)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_ERROR_NOT_SENT)).isEqualTo(1);
    }

    @Test void errorsAreRateLimited() {
        int burst = IcmpLayer.ERROR_BURST;
        for (int i = 0; i < burst + 10; i++) net.peer0().send(CLOSED_PORT);

        assertThat(net.peer0().recvAll()).hasSize(burst);
        assertThat(net.stat(Stat.ICMP_RATE_LIMITED)).isEqualTo(10);

        net.clock.advance(5 * 1_000_000L); // 1000 per second: five more tokens
        for (int i = 0; i < 10; i++) net.peer0().send(CLOSED_PORT);
        assertThat(net.peer0().recvAll()).hasSize(5);

        net.clock.advance(TimeUnit.HOURS.toNanos(1)); // the bucket refills only up to its burst
        for (int i = 0; i < burst + 1; i++) net.peer0().send(CLOSED_PORT);
        assertThat(net.peer0().recvAll()).hasSize(burst);
        assertThat(net.stat(Stat.ICMP_RATE_LIMITED)).isEqualTo(10 + 5 + 1);
    }

    @Test void anErrorQuotesAtMost576BytesWorth() {
        net.peer0().send(CLOSED_PORT.withPayload(Pkt.counting(1000)));

        Frame err = net.peer0().recv();
        assertThat(err.totalLength()).isEqualTo(576);
        assertThat(err.icmpData()).hasSize(IcmpLayer.MAX_QUOTE);
        assertThat(err.icmpChecksumOk()).isTrue();
    }

    @Test void anErrorComesFromTheAddressThePacketWasSentTo() {
        int second = Ipv4.parse("10.0.0.77");
        net.kernel.addAddress(net.em0(), new InterfaceAddress(second, 24));
        net.peer0().drain();
        net.peer0().send(CLOSED_PORT.withDst(second));

        Frame err = net.peer0().recv();
        assertThat(err.src()).isEqualTo(second);
        assertThat(err.icmpType()).isEqualTo(3);
        assertThat(err.icmpCode()).isEqualTo(3);
    }
}
