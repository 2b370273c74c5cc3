package org.kextnet.kernel.inet;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.TransportProtocol;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.stat.StatCells;
import org.kextnet.kernel.sync.Clock;
import org.kextnet.kernel.wire.Bytes;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Icmp;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;

/**
 * ICMP for IPv4 (RFC 792, RFC 1122 3.2.2): answers echo requests in place, hands echo replies to
 * whoever pings, counts the rest, and builds error messages for the other layers, rate-limited.
 */
public final class IcmpLayer implements TransportProtocol {
    /** Errors per second and burst (Linux's icmp_ratelimit is 1000/s). */
    public static final int ERROR_RATE = 1000, ERROR_BURST = 50;
    /** Bytes of the offending packet an error quotes: as much as fits in 576 bytes (RFC 1812 4.3.2.3). */
    public static final int MAX_QUOTE = 576 - Ipv4.MIN_HEADER - Icmp.HEADER_LEN;

    private final InetConfig config;
    private final ProtocolSwitch protocols;
    private final IpOutput output;
    private final Buffers buffers;
    private final Clock clock;
    private final TokenBucket errorLimit;
    private final Map<Integer, IntConsumer> echoListeners = new ConcurrentHashMap<>();

    public IcmpLayer(InetConfig config, ProtocolSwitch protocols, IpOutput output, Buffers buffers, Clock clock) {
        this.config = config;
        this.protocols = protocols;
        this.output = output;
        this.buffers = buffers;
        this.clock = clock;
        this.errorLimit = new TokenBucket(ERROR_RATE, ERROR_BURST, clock.nanoTime());
    }

    /** An ICMP message for this host; {@code hl} is the IP header length. Takes ownership. */
    @Override public void input(PacketContext ctx, Packet m, int hl) {
        StatCells st = ctx.stats();
        MemorySegment s = m.segment();
        int ip = m.offset();
        int icmp = ip + hl;
        int len = m.length() - hl;
        if (len < Icmp.HEADER_LEN) {
            st.inc(Stat.ICMP_TOO_SHORT);
            m.free();
            return;
        }
        if ((m.csumFlags() & Packet.CSUM_DATA_VALID) == 0 && !Icmp.checksumValid(s, icmp, len)) {
            st.inc(Stat.ICMP_BAD_SUM);
            m.free();
            return;
        }
        switch (Icmp.type(s, icmp)) {
            case Icmp.ECHO -> {
                st.inc(Stat.ICMP_IN_ECHO);
                if ((m.flags() & (Packet.F_BROADCAST | Packet.F_MULTICAST)) != 0) {
                    m.free(); // no replies to broadcast pings (Linux's icmp_echo_ignore_broadcasts)
                    return;
                }
                reflectEcho(ctx, m, hl);
            }
            case Icmp.ECHO_REPLY -> {
                st.inc(Stat.ICMP_IN_ECHO_REPLY);
                IntConsumer l = echoListeners.get(Icmp.id(s, icmp));
                int seq = Icmp.seq(s, icmp);
                m.free();
                if (l != null) l.accept(seq);
            }
            case Icmp.UNREACH -> {
                st.inc(Stat.ICMP_IN_UNREACH);
                notifyTransport(ctx, m, hl, len);
            }
            case Icmp.TIME_EXCEEDED -> {
                st.inc(Stat.ICMP_IN_TIME_EXCEEDED);
                notifyTransport(ctx, m, hl, len);
            }
            case Icmp.PARAM_PROBLEM -> {
                st.inc(Stat.ICMP_IN_OTHER);
                notifyTransport(ctx, m, hl, len);
            }
            default -> { st.inc(Stat.ICMP_IN_OTHER); m.free(); }
        }
    }

    /**
     * Hands an ICMP error to the transport protocol of the datagram it quotes ({@code pr_ctlinput}), when the quote
     * holds that datagram's IP header and 8 bytes of its transport header (RFC 792), and frees the message.
     */
    private void notifyTransport(PacketContext ctx, Packet m, int hl, int len) {
        try {
            MemorySegment s = m.segment();
            int quoted = hl + Icmp.HEADER_LEN;
            if (len < Icmp.HEADER_LEN + Ipv4.MIN_HEADER + 8) {
                ctx.stats().inc(Stat.ICMP_BAD_QUOTE);
                return;
            }
            int q = m.offset() + quoted;
            int qhl = Ipv4.headerLength(s, q);
            if (Ipv4.version(s, q) != 4 || qhl < Ipv4.MIN_HEADER || len < Icmp.HEADER_LEN + qhl + 8) {
                ctx.stats().inc(Stat.ICMP_BAD_QUOTE);
                return;
            }
            TransportProtocol p = protocols.get(Ipv4.protocol(s, q));
            if (p == null) return;
            int icmp = m.offset() + hl;
            int type = Icmp.type(s, icmp), code = Icmp.code(s, icmp);
            int mtu = type == Icmp.UNREACH && code == Icmp.UNREACH_NEEDFRAG ? s.get(Bytes.U16, icmp + Icmp.NEXT_HOP_MTU) & 0xffff : 0;
            p.error(ctx, type, code, mtu, m, quoted);
        } finally {
            m.free();
        }
    }

    /** Turns an echo request into its reply in the same buffer (RFC 792: swap addresses, type 0). */
    private void reflectEcho(PacketContext ctx, Packet m, int hl) {
        MemorySegment s = m.segment();
        int ip = m.offset();
        int icmp = ip + hl;
        int oldWord = s.get(Bytes.U16, icmp) & 0xffff;            // type << 8 | code
        int newWord = (Icmp.ECHO_REPLY << 8) | (oldWord & 0xff);
        s.set(Bytes.U16, icmp, (short) newWord);
        Icmp.setChecksum(s, icmp, Checksum.update16(Icmp.checksum(s, icmp), oldWord, newWord));
        int src = Ipv4.src(s, ip);
        int dst = Ipv4.dst(s, ip);
        Ipv4.setSrc(s, ip, dst);
        Ipv4.setDst(s, ip, src);
        Ipv4.setTtl(s, ip, Ipv4.DEFAULT_TTL);
        Ipv4.setFrag(s, ip, 0);
        Ipv4.fillChecksum(s, ip);
        m.clearHostState(); // the reply is a new packet: the request's tags, flags and checksum state stay behind
        ctx.stats().inc(Stat.ICMP_OUT_ECHO_REPLY);
        output.outputPacket(ctx, m);
    }

    /**
     * Sends an ICMP error about {@code orig} (which starts at its IP header) back to its source. Does not
     * take ownership: it copies what it quotes. Sends nothing about ICMP errors, non-first fragments,
     * broadcasts or packets from addresses that cannot answer (RFC 1122 3.2.2), nor past the rate limit.
     *
     * @param mtu the next-hop MTU for "fragmentation needed", else 0
     */
    public void error(PacketContext ctx, Packet orig, int type, int code, int mtu) {
        StatCells st = ctx.stats();
        st.inc(Stat.ICMP_ERRORS);
        MemorySegment s = orig.segment();
        int ip = orig.offset();
        int hl = Ipv4.headerLength(s, ip);
        int src = Ipv4.src(s, ip);
        int dst = Ipv4.dst(s, ip);
        if (Ipv4.protocol(s, ip) == Ipv4.PROTO_ICMP && orig.length() >= hl + 1 && Icmp.isError(Icmp.type(s, ip + hl))) {
            st.inc(Stat.ICMP_ERROR_ON_ICMP);
            return;
        }
        // 127/8 is a fine source on lo0 itself: local programs get their errors too.
        Interface rcvif = orig.rcvif() instanceof Interface i ? i : null;
        boolean looped = rcvif != null && rcvif.family() == IfFamily.LOOPBACK && (src >>> 24) == 127;
        if ((Ipv4.frag(s, ip) & Ipv4.OFFSET_MASK) != 0 || (orig.flags() & (Packet.F_BROADCAST | Packet.F_MULTICAST)) != 0
                || Ipv4.isMulticast(dst) || dst == Ipv4.BROADCAST || src == 0 || (Ipv4.isMartianSource(src) && !looped)) {
            st.inc(Stat.ICMP_ERROR_NOT_SENT);
            return;
        }
        if (!errorLimit.tryTake(clock.nanoTime())) {
            st.inc(Stat.ICMP_RATE_LIMITED);
            return;
        }
        int quote = Math.min(orig.length(), MAX_QUOTE);
        Packet m = buffers.alloc(Ipv4.MIN_HEADER + Icmp.HEADER_LEN + quote);
        if (m == null) {
            st.inc(Stat.NO_BUFFERS);
            return;
        }
        m.setLength(Icmp.HEADER_LEN + quote);
        MemorySegment ms = m.segment();
        int o = m.offset();
        Icmp.setType(ms, o, type);
        Icmp.setCode(ms, o, code);
        ms.set(Bytes.U32, o + 4, (type == Icmp.UNREACH && code == Icmp.UNREACH_NEEDFRAG) ? mtu & 0xffff : 0);
        MemorySegment.copy(s, ip, ms, o + Icmp.HEADER_LEN, quote);
        Icmp.fillChecksum(ms, o, Icmp.HEADER_LEN + quote);
        // Answer from the address the packet was sent to when it was ours, else from the arrival interface.
        int from = config.isLocalAddress(dst) ? dst : (rcvif != null ? rcvif.primaryAddress() : 0);
        st.inc(type == Icmp.TIME_EXCEEDED ? Stat.ICMP_OUT_TIME_EXCEEDED : Stat.ICMP_OUT_UNREACH);
        output.output(ctx, m, from, src, Ipv4.PROTO_ICMP, Ipv4.DEFAULT_TTL, 0, false);
    }

    /**
     * Sends one echo request ({@code ping}). Replies with this {@code id} go to the listener registered
     * with {@link #onEchoReply}. Returns 0 or an errno.
     */
    public int sendEcho(PacketContext ctx, int dst, int id, int seq, int payloadLength) {
        Packet m = buffers.alloc(Ipv4.MIN_HEADER + Icmp.HEADER_LEN + payloadLength);
        if (m == null) return Errno.ENOBUFS;
        m.setLength(Icmp.HEADER_LEN + payloadLength);
        MemorySegment s = m.segment();
        int o = m.offset();
        Icmp.setType(s, o, Icmp.ECHO);
        Icmp.setCode(s, o, 0);
        s.set(Bytes.U16, o + Icmp.ID, (short) id);
        s.set(Bytes.U16, o + Icmp.SEQ, (short) seq);
        for (int i = 0; i < payloadLength; i++) m.put8(Icmp.HEADER_LEN + i, i);
        Icmp.fillChecksum(s, o, Icmp.HEADER_LEN + payloadLength);
        ctx.stats().inc(Stat.ICMP_OUT_ECHO);
        return output.output(ctx, m, 0, dst, Ipv4.PROTO_ICMP, Ipv4.DEFAULT_TTL, 0, false);
    }

    /** Registers (or with null, removes) the listener for echo replies with this identifier. */
    public void onEchoReply(int id, IntConsumer sequenceListener) {
        if (sequenceListener == null) echoListeners.remove(id); else echoListeners.put(id, sequenceListener);
    }
}
