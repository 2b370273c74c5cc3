package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.kextnet.kernel.inet.tcp.TcpTestNet.Seg;
import org.kextnet.kernel.wire.Tcp;

/**
 * A scripted peer (host B of a {@link TcpTestNet#withRawPeer} net) with one connection to host A's stack:
 * it keeps B's sequence numbers and timestamps so a test writes only what differs from a well-formed segment.
 */
final class RawPeer {
    static final int B_ISS = 1_000_000;
    final TcpTestNet net;
    final TcpTestNet.Events events = new TcpTestNet.Events();
    TcpConnection c;
    /** B's port, A's port. */
    int port = 80, aPort;
    /** Next sequence number B sends; next sequence number B expects from A. */
    int snd, rcv;
    int aIss;
    boolean ts;
    int tsVal = 5000, lastTsFromA;
    int window = 65535;

    RawPeer(TcpTestNet net) { this.net = net; }

    /** A opens a connection to B:80; B answers with a SYN-ACK with MSS 1460 and the options asked for (wscale -1: none). */
    RawPeer connect(boolean timestamps, boolean sack, int wscale) throws TcpException {
        c = net.a.stack.open(events);
        c.connect(net.b.at(port));
        net.runFor(0);
        Seg syn = only(net.takeReceived());
        assertThat(syn.isSyn()).isTrue();
        aPort = syn.srcPort();
        aIss = syn.seq();
        rcv = aIss + 1;
        snd = B_ISS;
        ts = timestamps && syn.ts();
        lastTsFromA = syn.tsVal();
        Seg.Builder sa = Seg.of(Tcp.SYN | Tcp.ACK).ports(port, aPort).seq(snd).ack(rcv).window(window).mss(1460);
        if (wscale >= 0) sa.wscale(wscale);
        if (sack) sa.sackPermitted();
        if (ts) sa.ts(tsVal, lastTsFromA);
        net.inject(sa);
        snd++;
        net.runFor(0);
        Seg ack = only(net.takeReceived());
        assertThat(ack.isPureAck()).as("the handshake's ACK: %s", ack).isTrue();
        if (ack.ts()) lastTsFromA = ack.tsVal();
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        return this;
    }

    /** A segment from B with the current numbers (ACK set unless {@code flags} says otherwise). */
    Seg.Builder seg(int flags) {
        Seg.Builder b = Seg.of(flags).ports(port, aPort).seq(snd).ack(rcv).window(window);
        if (ts) b.ts(++tsVal, lastTsFromA);
        return b;
    }

    /** Sends data from B in order. */
    void send(byte[] data) {
        net.inject(seg(Tcp.ACK | Tcp.PSH).data(data));
        snd += data.length;
    }

    /** Segments A sent since the last call; B's expectations follow them. */
    List<Seg> received() { return receivedWithin(0); }

    /** Runs until A sends something (at most {@code limit}), then returns what it sent. */
    List<Seg> next(long limit) {
        net.runUntil(() -> !net.b.received.isEmpty(), limit);
        return received();
    }

    /** Segments A sent within {@code time} from now (a delayed ACK takes 40 ms). */
    List<Seg> receivedWithin(long time) {
        net.runFor(time);
        List<Seg> l = net.takeReceived();
        for (Seg s : l) {
            if (s.ts()) lastTsFromA = s.tsVal();
            if (Seq.gt(s.end(), rcv) && !s.isRst()) rcv = s.end();
        }
        return l;
    }

    static Seg only(List<Seg> l) {
        assertThat(l).hasSize(1);
        return l.get(0);
    }
}
