package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.MS;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.SECOND;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Events;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Seg;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kpi.Errno;

/** Listeners: backlog, SYN cookies, the connect-in hook, closing. */
class TcpListenerTest {
    private TcpTestNet net;

    @AfterEach void noBuffersLeak() {
        if (net != null) {
            net.close();
            assertThat(net.buffersInUse()).isZero();
        }
    }

    private static Seg.Builder syn(int port) {
        return Seg.of(Tcp.SYN).ports(port, 80).seq(100).mss(1460);
    }

    @Test void aFullHalfOpenQueueIsAnsweredWithSynCookiesThatCompleteTheHandshake() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        Events le = new Events();
        TcpListener l = net.a.stack.listen(net.a.at(80), 2, new TcpSocketOptions(), le);
        net.inject(syn(5001));
        net.inject(syn(5002));
        assertThat(net.takeReceivedAfter()).hasSize(2);
        assertThat(l.halfOpen()).isEqualTo(2);
        net.inject(syn(5003).wscale(5).sackPermitted().ts(7000, 0));
        Seg cookie = RawPeer.only(net.takeReceivedAfter());
        assertThat(cookie.has(Tcp.SYN | Tcp.ACK)).isTrue();
        assertThat(cookie.ack()).isEqualTo(101);
        assertThat(cookie.mss()).isEqualTo(1460);
        assertThat(cookie.wscale()).isEqualTo(7);
        assertThat(cookie.sackPermitted()).isTrue();
        assertThat(cookie.tsEcr()).isEqualTo(7000);
        assertThat(cookie.tsVal() & 0xf).as("the peer's window scale, kept in our timestamp").isEqualTo(5);
        assertThat(l.halfOpen()).as("a cookie keeps no state").isEqualTo(2);
        assertThat(net.a.count(Stat.TCP_SYNCOOKIES_SENT)).isEqualTo(1);
        assertThat(net.a.stack.connectionCount()).isEqualTo(2);
        // the cookie's ACK, with data, makes the connection
        net.inject(Seg.of(Tcp.ACK | Tcp.PSH).ports(5003, 80).seq(101).ack(cookie.seq() + 1).ts(7001, cookie.tsVal())
                .window(100).data("hi".getBytes()));
        assertThat(net.a.count(Stat.TCP_SYNCOOKIES_ACCEPTED)).isEqualTo(1);
        assertThat(le.accepted).hasSize(1);
        TcpConnection c = le.accepted.get(0);
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        TcpInfo i = c.info();
        assertThat(i.sendScale()).isEqualTo(5);
        assertThat(i.sack()).isTrue();
        assertThat(i.timestamps()).isTrue();
        assertThat(i.sendWindow()).isEqualTo(100 << 5);
        assertThat(c.readable()).isEqualTo(2);
        net.takeReceivedAfter();
    }

    @Test void aForgedOrStaleCookieIsRefused() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        Events le = new Events();
        net.a.stack.listen(net.a.at(80), 1, new TcpSocketOptions(), le);
        net.inject(syn(5001));
        net.inject(syn(5002));
        List<Seg> replies = net.takeReceivedAfter();
        Seg cookie = replies.get(1);
        net.inject(Seg.of(Tcp.ACK).ports(5002, 80).seq(101).ack(cookie.seq() + 2)); // wrong number
        assertThat(RawPeer.only(net.takeReceivedAfter()).isRst()).isTrue();
        assertThat(net.a.count(Stat.TCP_SYNCOOKIES_FAILED)).isEqualTo(1);
        net.inject(Seg.of(Tcp.ACK).ports(5009, 80).seq(101).ack(cookie.seq() + 1)); // another peer's port
        assertThat(RawPeer.only(net.takeReceivedAfter()).isRst()).isTrue();
        net.runFor(130 * SECOND); // beyond two cookie periods of 64 s
        net.takeReceived();
        net.inject(syn(5003)); // fill the half-open queue again, so cookies are in play and the ACK is looked at
        net.inject(syn(5004));
        net.takeReceivedAfter();
        net.inject(Seg.of(Tcp.ACK).ports(5002, 80).seq(101).ack(cookie.seq() + 1));
        assertThat(RawPeer.only(net.takeReceivedAfter()).isRst()).isTrue();
        assertThat(le.accepted).isEmpty();
        assertThat(net.a.count(Stat.TCP_SYNCOOKIES_FAILED)).isEqualTo(3);
    }

    @Test void aSynFloodDoesNotKeepAClientFromBeingServed() throws Exception {
        net = new TcpTestNet();
        Events le = new Events();
        TcpListener l = net.b.stack.listen(net.b.at(80), 8, new TcpSocketOptions(), le);
        for (int i = 0; i < 5000; i++) { // spoofed sources that will never answer
            int src = Ipv4.parse("10.9.0.0") + i;
            net.injectInto(net.b, src, Seg.of(Tcp.SYN).ports(1024 + i % 60000, 80).seq(i * 7919).mss(1460).ts(i, 0).sackPermitted().wscale(7));
        }
        assertThat(l.halfOpen()).isEqualTo(8);
        assertThat(net.b.stack.connectionCount()).isEqualTo(8);
        assertThat(net.b.count(Stat.TCP_SYNCOOKIES_SENT)).isEqualTo(4992);
        Pump client = new Pump(200_000, 1), server = new Pump(200_000, 2);
        le.childUpcall = server;
        TcpConnection c = net.a.stack.open(client);
        c.connect(net.b.at(80));
        net.runUntil(() -> client.done() && server.done(), 60 * SECOND);
        assertThat(server.receivedDigest()).isEqualTo(client.sentDigest());
        assertThat(client.receivedDigest()).isEqualTo(server.sentDigest());
        assertThat(net.b.count(Stat.TCP_SYNCOOKIES_ACCEPTED)).isEqualTo(1);
        assertThat(le.accepted.get(0).info().sack()).isTrue();
        // the half-open connections time out after the SYN-ACK retries (1+2+4+8+16+32 s)
        net.runFor(70 * SECOND);
        assertThat(l.halfOpen()).isZero();
        assertThat(net.b.count(Stat.TCP_EMBRYONIC_DROPS)).isEqualTo(8);
    }

    @Test void aFullAcceptQueueDropsNewSynsUntilOneIsAccepted() throws Exception {
        net = new TcpTestNet();
        Events le = new Events();
        le.autoAccept = false;
        TcpListener l = net.b.stack.listen(net.b.at(80), 2, new TcpSocketOptions(), le);
        TcpConnection[] cs = new TcpConnection[3];
        for (int i = 0; i < 3; i++) {
            cs[i] = net.a.stack.open(new Events());
            cs[i].connect(net.b.at(80));
            net.runFor(100 * MS);
        }
        assertThat(l.pending()).isEqualTo(2);
        assertThat(cs[2].state()).isEqualTo(TcpState.SYN_SENT);
        assertThat(net.b.count(Stat.TCP_LISTEN_OVERFLOWS)).isEqualTo(1);
        assertThat(l.accept()).isNotNull();
        net.runUntil(() -> cs[2].state() == TcpState.ESTABLISHED && l.pending() == 2, 5 * SECOND); // its SYN is retransmitted after 1 s
    }

    @Test void aConnectInHookRefusesBeforeAnyStateIsMade() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        Events le = new Events();
        le.refuse = Errno.EPERM;
        TcpListener l = net.a.stack.listen(net.a.at(80), 4, new TcpSocketOptions(), le);
        net.inject(syn(5001));
        assertThat(net.takeReceivedAfter()).as("dropped without a reply, as xnu drops what sf_connect_in refuses").isEmpty();
        assertThat(l.halfOpen()).isZero();
        assertThat(net.a.count(Stat.TCP_LISTEN_REFUSED)).isEqualTo(1);
    }

    @Test void closingAListenerResetsTheConnectionsNobodyAccepted() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        Events le = new Events();
        le.autoAccept = false;
        TcpListener l = net.a.stack.listen(net.a.at(80), 4, new TcpSocketOptions(), le);
        net.inject(syn(5001));
        net.inject(syn(5002));
        List<Seg> synAcks = net.takeReceivedAfter();
        net.inject(Seg.of(Tcp.ACK).ports(5002, 80).seq(101).ack(synAcks.get(1).seq() + 1));
        assertThat(l.pending()).isEqualTo(1);
        assertThat(l.halfOpen()).isEqualTo(1);
        l.close();
        List<Seg> resets = net.takeReceivedAfter();
        assertThat(resets).hasSize(2).allMatch(Seg::isRst);
        assertThat(net.a.stack.connectionCount()).isZero();
        net.inject(syn(5003));
        assertThat(RawPeer.only(net.takeReceivedAfter()).isRst()).as("nobody listens any more").isTrue();
        assertThat(net.a.stack.listeners()).isEmpty();
    }

    @Test void aSecondListenerOnThePortIsRefusedUnlessTheAddressesDiffer() throws Exception {
        net = new TcpTestNet();
        net.b.stack.listen(net.b.at(80), 4, new TcpSocketOptions(), new Events());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> net.b.stack.listen(TcpEndpoint.ipv4(0, 80), 4, new TcpSocketOptions(), new Events()))
                .extracting(e -> ((TcpException) e).errno()).isEqualTo(Errno.EADDRINUSE);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> net.b.stack.listen(TcpEndpoint.ipv4("10.5.5.5", 81), 4, new TcpSocketOptions(), new Events()))
                .extracting(e -> ((TcpException) e).errno()).isEqualTo(Errno.EADDRNOTAVAIL);
        TcpListener eph = net.b.stack.listen(TcpEndpoint.ipv4(0, 0), 4, new TcpSocketOptions(), new Events());
        assertThat(eph.local().port()).isBetween(TcpStack.EPHEMERAL_LOW, TcpStack.EPHEMERAL_HIGH);
        TcpConnection c = net.a.stack.open(new Events());
        c.connect(net.b.at(eph.local().port()));
        net.runUntil(() -> c.state() == TcpState.ESTABLISHED, SECOND);
    }
}
