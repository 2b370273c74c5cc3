package org.kextnet.examples.tunnel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * One tunnel: the interface {@code ktunN} and its two ends. What the kernel routes into the interface reaches
 * {@link #output} as a bare IPv4 packet (the interface has no link header), which goes out again
 * inside IPv4 and UDP from {@code local:port} to {@code remote:remotePort}, as Linux's foo-over-UDP carries IPv4
 * ({@code ip fou add port N ipproto 4}): the UDP payload is the inner packet, nothing else.
 */
final class TunnelInterface {
    static final int OUTER = 28; // IPv4 and UDP headers
    /** Tag type marking a packet this extension encapsulated. */
    static final int TAG_OUTER = 1;

    final String name;
    final int local, remote, port, remotePort;
    volatile Ifnet ifp;
    private final Tunnel owner;
    private final AtomicInteger ids = new AtomicInteger();
    final AtomicLong outPackets = new AtomicLong(), outBytes = new AtomicLong(), inPackets = new AtomicLong(), inBytes = new AtomicLong(),
            dropped = new AtomicLong(), loops = new AtomicLong();

    TunnelInterface(Tunnel owner, String name, int local, int remote, int port, int remotePort) {
        this.owner = owner;
        this.name = name;
        this.local = local;
        this.remote = remote;
        this.port = port;
        this.remotePort = remotePort;
    }

    /**
     * The interface's output ({@code ifnet_output_func}): on the sending thread, with the inner packet, which it owns.
     * Prepends the outer headers in the headroom and hands the result to IP output, where the other IP filters see
     * it as a packet this host sends.
     */
    int output(Ifnet ifp, Mbuf m) {
        int tag = owner.tag();
        if (m.tagFind(tag, TAG_OUTER) != null) { // our own outer packet routed into a tunnel: it would go round forever
            m.free();
            loops.incrementAndGet();
            return Errno.EHOSTUNREACH;
        }
        int inner = m.packetLength();
        if (inner + OUTER > 65535) {
            m.free();
            dropped.incrementAndGet();
            return Errno.EMSGSIZE;
        }
        if (!m.prepend(OUTER)) { // no headroom: a fresh buffer with the packet copied behind the headers
            Mbuf c = owner.kpi().mbufs().allocate(OUTER + inner);
            if (c == null) {
                m.free();
                dropped.incrementAndGet();
                return Errno.ENOBUFS;
            }
            c.setLength(OUTER);
            int r = c.copyBack(OUTER, m.toByteArray(), 0, inner);
            m.free();
            if (r != 0) {
                c.free();
                dropped.incrementAndGet();
                return r;
            }
            m = c;
        }
        int total = OUTER + inner;
        m.putInt(0, 0x4500_0000 | total);
        m.putInt(4, ids.getAndIncrement() << 16);      // id; no fragment flags: the outer packet may be fragmented
        m.putInt(8, 64 << 24 | 17 << 16);               // TTL 64, UDP, checksum 0 until computed
        m.putInt(12, local);
        m.putInt(16, remote);
        m.put16(10, ipChecksum(m));
        m.put16(20, port);
        m.put16(22, remotePort);
        m.put16(24, inner + 8);
        m.put16(26, 0);                                 // no UDP checksum, as fou sends over IPv4 (RFC 768 allows it)
        m.setFlags(0);                                  // not forwarded any more: this host sends it
        m.setCsumFlags(0);
        m.setRcvif(null);
        m.tagAllocate(tag, TAG_OUTER, 1);
        outPackets.incrementAndGet();
        outBytes.addAndGet(inner);
        return owner.kpi().ipFilters().injectOutput(m, null, null); // takes ownership, error or not
    }

    /**
     * The decapsulating filter found this tunnel's datagram: {@code m} (the filter's, until it returns EJUSTRETURN)
     * starts at the outer IP header, the UDP header at {@code offset}. Hands the inner packet to the interface as
     * its driver would ({@code ifnet_input}).
     * @return EJUSTRETURN (the packet went on as the inner one), or an errno to drop it
     */
    int input(Mbuf m, int offset) {
        int inner = m.packetLength() - offset - 8;
        if (inner < 20 || m.length() < offset + 8 + 1 || (m.getU8(offset + 8) >>> 4) != 4) { // not IPv4 inside: not ours to pass on
            dropped.incrementAndGet();
            return Errno.EINVAL;
        }
        Ifnet i = ifp;
        if (i == null) return Errno.ENXIO;
        m.adj(offset + 8);
        m.setCsumFlags(0); // the outer packet's checks say nothing about the inner one
        m.setFlags(0);
        // Not an outer packet any more. (The tag can come with it: kextnet's in-process memory wire hands the sender's
        // buffer, tags and all, to the kernel at the other end; without this the reply would look like a loop there.)
        m.tagFree(owner.tag(), TAG_OUTER);
        inPackets.incrementAndGet();
        inBytes.addAndGet(inner);
        i.input(m); // takes ownership, also when it fails
        return Errno.EJUSTRETURN;
    }

    private static int ipChecksum(Mbuf m) {
        int sum = 0;
        for (int i = 0; i < 20; i += 2) sum += m.getU16(i);
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return ~sum & 0xffff;
    }

    /** One line of {@code list}. */
    String describe() {
        Ifnet i = ifp;
        return name + " local " + Tunnel.ip(local) + ":" + port + " remote " + Tunnel.ip(remote) + ":" + remotePort
                + " mtu " + (i == null ? "-" : i.mtu()) + ": out " + outPackets.get() + " packets " + outBytes.get() + " bytes, in "
                + inPackets.get() + " packets " + inBytes.get() + " bytes, dropped " + dropped.get() + ", loops " + loops.get();
    }
}
