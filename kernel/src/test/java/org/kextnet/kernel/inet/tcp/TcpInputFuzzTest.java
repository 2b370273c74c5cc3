package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.FuzzRecords;
import org.kextnet.kernel.testing.FuzzStack;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.wire.Tcp;

/**
 * Arbitrary TCP segments from em0's peer through the kernel's IPv4 input: the header and option checks, a
 * listener on port 80 (handshakes, the accept queue), and a connection each input opens first with a real
 * handshake and then feeds (the state machine, reassembly, SACK, the send side under fuzzed ACKs and windows,
 * ICMP errors quoting it). Every input starts from a new listener and a new connection, and ends with both
 * reset and time run out, so that inputs stay independent.
 *
 * <p>Input: one byte of handshake options (bit 0 timestamps, bit 1 SACK-permitted, bit 2 window scale 7, bit 3
 * an MSS of 536 instead of 1460), then records of [flags][arg][length][segment]. Flags bits 0-1: 0 and 1 = to the
 * connection (ports rewritten to it), 2 = to the listener from the segment's source port, 3 = wrapped in an ICMP
 * error quoting the connection (type and code from arg); bit 2 = sequence and acknowledgement numbers relative to
 * what the kernel last sent that port; bit 3 = fill the checksum; bit 4 = then the application accepts and reads
 * everything; bit 5 = then it writes arg * 16 bytes on the connection; bit 6 = then arg * arg ms pass; bit 7 =
 * then it shuts the connection down for writing (a FIN).
 */
class TcpInputFuzzTest {
    static final int PORT = 80;
    private static int nextPeerPort = 1024;

    @FuzzTest(maxDuration = "2m")
    void tcpSegments(byte[] input) {
        if (input.length == 0) return;
        try (Session s = new Session(FuzzStack.get())) {
            s.handshake(input[0]);
            byte[] rest = Arrays.copyOfRange(input, 1, input.length);
            for (FuzzRecords.Record r : FuzzRecords.parse(rest, 2)) s.segment(r.option(0), r.option(1), r.packet());
        }
    }

    /** The harness reaches the established connection: relative numbers land data in order, and it is acked. */
    @Test void dataSentWithRelativeNumbersReachesTheApplicationAndIsAcked() throws Exception {
        try (Session s = new Session(FuzzStack.get())) {
            s.handshake(0b0111);
            byte[] seg = header(0, 0, Tcp.ACK | Tcp.PSH, 65535, new byte[] {1, 1, 8, 10, 0, 0, 0, (byte) 200, 0, 0, 0, 0});
            byte[] data = "hello".getBytes();
            byte[] withData = Arrays.copyOf(seg, seg.length + data.length);
            System.arraycopy(data, 0, withData, seg.length, data.length);
            s.segment(4 | 8 | 16, 0, withData);
            assertThat(s.read).isEqualTo(data.length);
            s.segment(64, 200, new byte[0]); // 40 s pass, past the delayed ACK (an empty segment is dropped as too short)
            assertThat(s.acked(s.peerPort)).as("the kernel acked the data").isEqualTo(s.peerIss + 1 + data.length);
        }
    }

    /** A TCP header with no ports (the harness fills them) and {@code options} (a multiple of 4 bytes). */
    static byte[] header(int seq, int ack, int flags, int window, byte[] options) {
        return ByteBuffer.allocate(20 + options.length).putInt(0).putInt(seq).putInt(ack)
                .put((byte) ((20 + options.length) << 2)).put((byte) flags).putShort((short) window).putInt(0)
                .put(options).array();
    }

    /** One input's listener and connection, as em0's peer sees them. */
    static final class Session implements AutoCloseable {
        final FuzzStack stack;
        final TcpSocket listener;
        final List<TcpSocket> accepted = new ArrayList<>();
        /** Per peer port: the kernel's next sequence number and the last number it acknowledged. */
        final Map<Integer, int[]> kernelSide = new HashMap<>();
        final int peerPort;
        final int peerIss = 7_000_000;
        TcpSocket conn;
        long read;

        Session(FuzzStack stack) {
            this.stack = stack;
            peerPort = nextPeerPort;
            nextPeerPort = nextPeerPort == 65535 ? 1024 : nextPeerPort + 1;
            try {
                listener = stack.net.kernel.tcp().open();
                listener.setBlocking(false);
                listener.bind(0, PORT);
                listener.listen(8);
            } catch (SocketError e) {
                throw new IllegalStateException(e);
            }
        }

        void handshake(int opts) {
            ByteBuffer o = ByteBuffer.allocate(24);
            o.put(new byte[] {Tcp.OPT_MSS, 4}).putShort((short) ((opts & 8) != 0 ? 536 : 1460));
            if ((opts & 1) != 0) o.put(new byte[] {1, 1, Tcp.OPT_TIMESTAMP, 10}).putInt(100).putInt(0);
            if ((opts & 2) != 0) o.put(new byte[] {1, 1, Tcp.OPT_SACK_PERMITTED, 2});
            if ((opts & 4) != 0) o.put(new byte[] {1, Tcp.OPT_WSCALE, 3, 7});
            byte[] syn = ports(header(peerIss, 0, Tcp.SYN, 65535, Arrays.copyOf(o.array(), o.position())), peerPort, PORT);
            fillChecksum(syn, TestNet.PEER_IP, TestNet.OUR_IP);
            send(syn, true);
            int[] k = kernelSide.get(peerPort);
            assertThat(k).as("a SYN-ACK for the handshake").isNotNull();
            byte[] ack = header(peerIss + 1, k[0], Tcp.ACK, 65535, (opts & 1) != 0
                    ? new byte[] {1, 1, Tcp.OPT_TIMESTAMP, 10, 0, 0, 0, 101, 0, 0, 0, 0} : new byte[0]);
            fillChecksum(ports(ack, peerPort, PORT), TestNet.PEER_IP, TestNet.OUR_IP);
            send(ack, true);
            acceptAll();
            assertThat(accepted).as("the handshake's connection was accepted").hasSize(1);
            conn = accepted.get(0);
        }

        void segment(int flags, int arg, byte[] seg) {
            int mode = flags & 3;
            int port = peerPort;
            if (mode == 2 && seg.length >= 2) {
                port = (seg[0] & 0xff) << 8 | seg[1] & 0xff;
                ports(seg, port, PORT);
            } else if (mode != 2) {
                ports(seg, mode == 3 ? PORT : peerPort, mode == 3 ? peerPort : PORT);
            }
            if ((flags & 4) != 0) {
                int[] k = kernelSide.getOrDefault(port, new int[2]);
                // seen from the peer: its numbers follow the kernel's ACK; for a quote (mode 3) the kernel's own
                int seqBase = mode == 3 ? k[0] : k[1], ackBase = mode == 3 ? k[1] : k[0];
                if (seg.length >= 8) putInt(seg, 4, getInt(seg, 4) + seqBase);
                if (seg.length >= 12) putInt(seg, 8, getInt(seg, 8) + ackBase);
            }
            if (mode == 3) {
                quote(arg, seg);
            } else {
                if ((flags & 8) != 0 && seg.length >= 18) fillChecksum(seg, TestNet.PEER_IP, TestNet.OUR_IP);
                send(seg, false);
            }
            try {
                if ((flags & 16) != 0) {
                    acceptAll();
                    ByteBuffer b = ByteBuffer.allocate(65536);
                    for (TcpSocket so : accepted) {
                        for (int n; (n = so.read(b, 0, TimeUnit.NANOSECONDS)) > 0; b.clear()) read += n;
                    }
                }
                if ((flags & 32) != 0) conn.write(ByteBuffer.wrap(Pkt.counting(arg * 16)));
                if ((flags & 128) != 0) conn.shutdown(1);
            } catch (SocketError e) {
                // the fuzzed peer reset or refused it: an application sees the same
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if ((flags & 64) != 0) stack.net.tick(arg * arg, TimeUnit.MILLISECONDS);
            pump(false);
        }

        /** The segment as the payload of an ICMP error from a router, quoting a packet we sent the peer. */
        private void quote(int arg, byte[] seg) {
            int type = (arg & 0x80) != 0 ? 11 : (arg & 0x40) != 0 ? 12 : 3;
            int[] mtus = {0, 68, 296, 1000};
            byte[] ip = Pkt.raw(6, seg).withSrc(TestNet.OUR_IP).withDst(TestNet.PEER_IP).withoutEthernet().ipBytes();
            send(Pkt.icmp(type, arg & 15, type == 3 ? mtus[arg >>> 4 & 3] : 0, ip).withSrc(TestNet.PEER_IP).bytes());
            pump(false);
        }

        private void send(byte[] seg, boolean pump) {
            send(Pkt.raw(6, seg).bytes());
            pump(pump);
        }

        private void send(byte[] frame) { stack.receive(0, frame); }

        void acceptAll() {
            try {
                for (TcpSocket so; (so = listener.tryAccept()) != null; ) {
                    so.setBlocking(false);
                    accepted.add(so);
                }
            } catch (SocketError e) {
                throw new AssertionError(e);
            }
        }

        /** Answers the kernel's ARP requests and notes the numbers of what it sent; frees every frame. */
        private void pump(boolean required) {
            for (int round = 0; round < 4; round++) {
                boolean answered = false;
                for (Frame f : stack.net.peer0().recvAll()) {
                    if (f.ethType() == Pkt.ETH_ARP && f.arpOp() == 1 && f.arpTargetIp() == TestNet.PEER_IP) {
                        send(Pkt.arp(TestNet.OUR_MAC, TestNet.PEER_MAC, 2, TestNet.PEER_MAC, TestNet.PEER_IP,
                                f.arpSenderMac(), f.arpSenderIp()));
                        answered = true;
                    } else if (f.ethType() == Pkt.ETH_IPV4 && f.protocol() == 6 && f.fragOffset() == 0) {
                        note(f);
                    }
                }
                if (!answered) break;
            }
            if (required) assertThat(kernelSide).isNotEmpty();
        }

        private void note(Frame f) {
            byte[] t = f.l4Bytes();
            if (t.length < 20) return;
            int port = (t[2] & 0xff) << 8 | t[3] & 0xff;
            int seq = getInt(t, 4), ack = getInt(t, 8), fl = t[13] & 0xff;
            int hl = (t[12] & 0xf0) >>> 2;
            int end = seq + Math.max(0, t.length - hl) + ((fl & Tcp.SYN) != 0 ? 1 : 0) + ((fl & Tcp.FIN) != 0 ? 1 : 0);
            int[] k = kernelSide.computeIfAbsent(port, p -> new int[] {end, 0});
            if ((fl & Tcp.SYN) != 0 || Seq.gt(end, k[0])) k[0] = end;
            if ((fl & Tcp.ACK) != 0) k[1] = ack;
        }

        /** The last number the kernel acknowledged to {@code port}. */
        int acked(int port) {
            pump(false);
            return kernelSide.get(port)[1];
        }

        /** Resets every connection and closes the listener; the fuzz stack's settle then checks nothing is held. */
        @Override public void close() {
            acceptAll();
            try {
                for (TcpSocket so : accepted) {
                    so.setLinger(true, 0);
                    so.close();
                }
            } catch (SocketError e) {
                throw new AssertionError(e);
            }
            listener.close();
            pump(false);
            stack.settle();
        }
    }

    static byte[] ports(byte[] seg, int src, int dst) {
        if (seg.length >= 2) { seg[0] = (byte) (src >>> 8); seg[1] = (byte) src; }
        if (seg.length >= 4) { seg[2] = (byte) (dst >>> 8); seg[3] = (byte) dst; }
        return seg;
    }

    static int getInt(byte[] b, int at) { return ByteBuffer.wrap(b).getInt(at); }

    static void putInt(byte[] b, int at, int v) { ByteBuffer.wrap(b).putInt(at, v); }

    static void fillChecksum(byte[] seg, int src, int dst) {
        Tcp.fillChecksum(MemorySegment.ofArray(seg), 0, seg.length, Checksum.pseudoHeader(src, dst, Ipv4.PROTO_TCP, seg.length));
    }
}
