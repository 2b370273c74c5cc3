package org.kextnet.kernel.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.Interface;

/**
 * The far end of one of a {@link TestNet}'s memory wires (a link of its harness): sends frames to the stack's
 * interface and reads the frames that interface transmitted.
 *
 * @param mac the peer's own MAC address; {@code ip} its IPv4 address
 */
public record Peer(TestNet net, MemoryWire wire, Interface ifp, long mac, int ip) {

    /** This link's version of {@code p}: the peer's and the interface's MACs, the peer as IP source. */
    public Pkt from(Pkt p) {
        return p.withEthSrc(mac).withEthDst(ifp.lladdr()).withSrc(ip);
    }

    public void send(Pkt p) { send(p.bytes()); }

    /** Puts a frame on the wire and lets the stack process it (and anything it leads to) before returning. */
    public void send(byte[] frame) {
        assertThat(wire.a().inject(net.mbuf(frame))).as("rx ring accepted the frame").isTrue();
        net.runPending();
    }

    /**
     * Puts all the frames on the wire, then lets the stack process them: the interface receives them as
     * batches (as a driver's reader delivers them), up to the ring's batch size at a time.
     */
    public void sendBatch(List<Pkt> packets) {
        for (Pkt p : packets) assertThat(wire.a().inject(net.mbuf(p.bytes()))).as("rx ring accepted the frame").isTrue();
        net.runPending();
    }

    /** The next frame the interface transmitted, or null. */
    public Frame recvOrNull() {
        Packet m = wire.b().take();
        if (m == null) return null;
        try {
            return new Frame(m.toByteArray());
        } finally {
            m.free();
        }
    }

    /** The next frame the interface transmitted; fails if there is none. */
    public Frame recv() {
        Frame f = recvOrNull();
        assertThat(f).as(ifp + " transmitted a frame").isNotNull();
        return f;
    }

    public List<Frame> recvAll() {
        List<Frame> l = new ArrayList<>();
        for (Frame f; (f = recvOrNull()) != null; ) l.add(f);
        return l;
    }

    public void recvNothing() {
        Frame f = recvOrNull();
        assertThat(f == null ? null : f.bytes()).as(ifp + " transmitted nothing").isNull();
    }

    /** Frees whatever the interface transmitted and nobody read. */
    public void drain() {
        for (Packet m; (m = wire.b().take()) != null; ) m.free();
    }
}
