package org.kextnet.kernel.testing;

import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.OUR_MAC;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP1;
import static org.kextnet.kernel.testing.TestNet.PEER_MAC;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.testing.FuzzRecords.Record;

/**
 * Writes the committed seed inputs of the fuzz tests (src/test/resources/.../*FuzzTestInputs/). Run from
 * the kernel module after a test-compile:
 * {@code java -cp target/test-classes:target/classes org.kextnet.kernel.testing.FuzzSeeds src/test/resources}
 */
public final class FuzzSeeds {
    private FuzzSeeds() {}

    private static Record rec(int option, byte[] packet) { return new Record(new byte[] {(byte) option}, packet); }
    private static Record rec(int a, int b, byte[] packet) { return new Record(new byte[] {(byte) a, (byte) b}, packet); }

    private static final Pkt UDP_2000 = Pkt.udp(5000, 9, Pkt.counting(2000)).withId(0x4242);

    private static List<Record> fragments(int flags, Pkt datagram, int[][] pieces) {
        List<Record> l = new ArrayList<>();
        for (int[] p : pieces) l.add(rec(flags, datagram.fragment(p[0], p[1], p[2] != 0).withoutEthernet().bytes()));
        return l;
    }

    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : "src/test/resources", "org/kextnet/kernel");

        Path eth = root.resolve("link/EthernetInputFuzzTestInputs/ethernetFrames");
        write(eth, "arp_request_for_us", List.of(rec(0, Pkt.arp(-1L & 0xffff_ffff_ffffL, PEER_MAC, 1, PEER_MAC, PEER_IP, 0, OUR_IP))));
        write(eth, "arp_reply_unsolicited", List.of(rec(1, Pkt.arp(TestNet.OUR_MAC1, 0x02_00_00_00_01_09L, 2,
                0x02_00_00_00_01_09L, TestNet.PEER_IP1 + 7, TestNet.OUR_MAC1, TestNet.OUR_IP1))));
        write(eth, "echo_request", List.of(rec(0, Pkt.echo(1, 1, Pkt.counting(56)).bytes())));
        write(eth, "udp_to_socket_and_echo", List.of(rec(0, Pkt.udp(5000, 9, "sink").bytes()), rec(0, Pkt.udp(5000, 7, "echo").bytes())));
        write(eth, "ipv6_and_runt", List.of(rec(0, Pkt.echo(1, 1, new byte[8]).withEthType(0x86dd).bytes()), rec(0, new byte[13])));
        write(eth, "forwarded_to_unresolved_host", List.of(rec(0, Pkt.udp(5000, 9, Pkt.counting(700)).withDst(PEER_IP1 + 5).bytes())));

        Path ip = root.resolve("inet/IpInputFuzzTestInputs/ipv4Packets");
        write(ip, "echo", List.of(rec(0, Pkt.echo(7, 7, Pkt.counting(32)).withoutEthernet().bytes())));
        write(ip, "fragments_in_order", fragments(0, UDP_2000, new int[][] {{0, 800, 1}, {800, 800, 1}, {1600, 408, 0}}));
        write(ip, "fragments_reversed_with_duplicate", fragments(0, UDP_2000, new int[][] {{1600, 408, 0}, {800, 800, 1}, {800, 800, 1}, {0, 800, 1}}));
        write(ip, "fragments_overlapping", fragments(0, UDP_2000, new int[][] {{0, 800, 1}, {400, 800, 1}, {1600, 408, 0}}));
        write(ip, "fragmented_echo_reply_fragmented", fragments(0, Pkt.echo(3, 4, Pkt.counting(3000)).withId(11),
                new int[][] {{0, 1480, 1}, {1480, 1480, 1}, {2960, 48, 0}}));
        write(ip, "ping_of_death_tail", List.of(rec(0, Pkt.raw(Pkt.ICMP, new byte[16]).withId(7).withFrag(65528 >>> 3).withoutEthernet().bytes())));
        write(ip, "forward_and_fragment", List.of(rec(0, Pkt.udp(5000, 9, Pkt.counting(1400)).withDst(PEER_IP1).withoutEthernet().bytes())));
        write(ip, "forward_df_too_big", List.of(rec(0, Pkt.udp(5000, 9, Pkt.counting(1400)).withDst(PEER_IP1).withFrag(Pkt.DF).withoutEthernet().bytes())));
        write(ip, "forward_ttl_1_and_no_route", List.of(rec(0, Pkt.echo(1, 1, new byte[8]).withDst(PEER_IP1).withTtl(1).withoutEthernet().bytes()),
                rec(0, Pkt.echo(1, 1, new byte[8]).withDst(0xc0a80101).withoutEthernet().bytes())));
        write(ip, "options_record_route_and_copied", List.of(rec(0, Pkt.udp(5000, 9, Pkt.counting(900)).withDst(PEER_IP1)
                .withOptions(0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0).withoutEthernet().bytes())));
        write(ip, "needs_checksum_fix", List.of(rec(2 | 4, Pkt.echo(1, 2, new byte[4]).withIpChecksum(0).withTotalLength(0).withoutEthernet().bytes())));
        write(ip, "broadcast_unknown_protocol", List.of(rec(8, Pkt.raw(99, new byte[8]).withDst(0x0a0000ff).withoutEthernet().bytes())));

        Path icmp = root.resolve("inet/IcmpFuzzTestInputs/icmpMessages");
        write(icmp, "echo_request", List.of(rec(4, 64, Pkt.echo(1, 1, Pkt.counting(20)).l4())));
        write(icmp, "echo_reply_and_unreach", List.of(rec(4, 64, Pkt.icmp(0, 0, 1, new byte[8]).l4()),
                rec(4, 64, Pkt.icmp(3, 3, 0, Pkt.udp(1, 2, "x").withoutEthernet().ipBytes()).l4())));
        write(icmp, "error_forwarded_into_ttl_1", List.of(rec(4 | 1, 1, Pkt.icmp(11, 0, 0, new byte[28]).l4())));
        write(icmp, "broadcast_echo", List.of(rec(4 | 2, 64, Pkt.echo(1, 1, new byte[8]).l4())));

        Path udp = root.resolve("inet/udp/UdpFuzzTestInputs/udpDatagrams");
        write(udp, "to_socket", List.of(rec(4 | 8, Pkt.udp(5000, 9, "data").l4())));
        write(udp, "to_echo", List.of(rec(2 | 8, Pkt.udp(5000, 7, Pkt.counting(100)).l4())));
        write(udp, "to_closed_port_and_broadcast", List.of(rec(8, Pkt.udp(5000, 4444, "x").l4()), rec(1 | 8, Pkt.udp(5000, 4444, "y").l4())));
        write(udp, "bad_length_and_checksum", List.of(rec(4, Pkt.udp(5000, 9, "x").withUdpLength(200).l4()),
                rec(4, Pkt.udp(5000, 9, "y").withL4Checksum(1).l4())));

        // TCP: handshake options bit 0 timestamps, 1 SACK-permitted, 2 window scale, 3 MSS 536 (TcpInputFuzzTest).
        Path tcp = root.resolve("inet/tcp/TcpInputFuzzTestInputs/tcpSegments");
        byte[] hello = "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        write(tcp, "data_in_order", 0b0111, List.of(rec(REL | SUM | READ, 0, tcp(0, 0, ACK | PSH, 65535, ts(200), hello)),
                rec(TIME, 20, new byte[0])));
        write(tcp, "out_of_order_sack_and_reassembly", 0b0011, List.of(
                rec(REL | SUM, 0, tcp(1000, 0, ACK, 65535, ts(200), Pkt.counting(500))),
                rec(REL | SUM, 0, tcp(2000, 0, ACK, 65535, ts(201), Pkt.counting(500))),
                rec(REL | SUM | READ, 0, tcp(0, 0, ACK, 65535, ts(202), Pkt.counting(1000))),
                rec(REL | SUM | READ, 0, tcp(1500, 0, ACK | FIN, 65535, ts(203), Pkt.counting(500)))));
        write(tcp, "send_side_acks_sack_and_rto", 0b0010, List.of(rec(WRITE, 200, new byte[0]),
                rec(REL | SUM, 0, tcp(0, 1460, ACK, 65535, new int[] {1, 1, 5, 10, 0, 0, 0x0b, 0x68, 0, 0, 0x0c, 0x80}, new byte[0])),
                rec(REL | SUM | TIME, 30, tcp(0, 1460, ACK, 0, NO_OPTIONS, new byte[0])),
                rec(REL | SUM | TIME, 40, tcp(0, 3200, ACK, 1000, NO_OPTIONS, new byte[0]))));
        write(tcp, "fin_both_ways_and_time_wait", 0b0000, List.of(rec(REL | SUM | READ | SHUT, 0, tcp(0, 0, ACK | FIN, 65535, NO_OPTIONS, new byte[0])),
                rec(REL | SUM | TIME, 10, tcp(1, 1, ACK, 65535, NO_OPTIONS, new byte[0]))));
        write(tcp, "reset_in_and_out_of_window", 0b0001, List.of(rec(REL | SUM, 0, tcp(100, 0, RST, 0, NO_OPTIONS, new byte[0])),
                rec(REL | SUM, 0, tcp(0, 0, RST, 0, NO_OPTIONS, new byte[0]))));
        write(tcp, "listener_handshake_from_another_port", 0b0000, List.of(
                rec(LISTENER | SUM, 0, ports(tcp(5000, 0, SYN, 65535, new int[] {2, 4, 5, 0xb4, 1, 3, 3, 14, 4, 2}, new byte[0]), 2000)),
                rec(LISTENER | REL | SUM | READ, 0, ports(tcp(0, 0, ACK | PSH, 65535, NO_OPTIONS, hello), 2000)),
                rec(LISTENER | SUM, 0, ports(tcp(5000, 0, SYN | FIN | RST | ACK, 65535, NO_OPTIONS, new byte[0]), 2001))));
        write(tcp, "icmp_errors_quoting_the_connection", 0b0000, List.of(rec(WRITE, 100, new byte[0]),
                rec(QUOTE | REL, 4 | 2 << 4, tcp(0, 0, ACK, 65535, NO_OPTIONS, new byte[0])),
                rec(QUOTE | REL, 3, tcp(0, 0, ACK, 65535, NO_OPTIONS, new byte[0])),
                rec(QUOTE | REL, 0x80, tcp(0, 0, ACK, 65535, NO_OPTIONS, new byte[0]))));
        write(tcp, "malformed_headers_and_options", 0b0001, List.of(rec(SUM, 0, new byte[12]),
                rec(REL | SUM, 0, tcp(0, 0, ACK, 65535, new int[] {2, 0, 0, 0}, new byte[0])),
                rec(REL | SUM, 0, tcp(0, 0, ACK, 65535, new int[] {8, 40, 0, 0}, new byte[0])),
                rec(REL | SUM, 0, tcp(0, 0, ACK, 65535, new int[] {3, 3, 200, 5, 2}, new byte[0])),
                rec(REL, 0, tcp(0, 0, ACK, 65535, NO_OPTIONS, hello)),
                rec(REL | SUM, 0, withDataOffset(tcp(0, 0, ACK, 65535, NO_OPTIONS, hello), 2)),
                rec(REL | SUM, 0, withDataOffset(tcp(0, 0, ACK, 65535, NO_OPTIONS, hello), 15))));
    }

    private static byte[] ports(byte[] tcp, int src) {
        tcp[0] = (byte) (src >>> 8);
        tcp[1] = (byte) src;
        return tcp;
    }

    private static byte[] withDataOffset(byte[] tcp, int words) {
        tcp[12] = (byte) (words << 4);
        return tcp;
    }

    private static void write(Path dir, String name, List<Record> records) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve(name), FuzzRecords.encode(records));
    }

    /** An input of TcpInputFuzzTest: its handshake-options byte, then the records. */
    private static void write(Path dir, String name, int handshake, List<Record> records) throws IOException {
        Files.createDirectories(dir);
        byte[] r = FuzzRecords.encode(records);
        byte[] in = new byte[1 + r.length];
        in[0] = (byte) handshake;
        System.arraycopy(r, 0, in, 1, r.length);
        Files.write(dir.resolve(name), in);
    }

    /** A TCP header without ports (the fuzz test fills them), {@code options} padded to words, then {@code data}. */
    private static byte[] tcp(int seq, int ack, int flags, int window, int[] options, byte[] data) {
        int ol = (options.length + 3) & ~3;
        ByteBuffer b = ByteBuffer.allocate(20 + ol + data.length).putInt(0).putInt(seq).putInt(ack)
                .put((byte) ((20 + ol) << 2)).put((byte) flags).putShort((short) window).putInt(0);
        for (int o : options) b.put((byte) o);
        return b.position(20 + ol).put(data).array();
    }

    private static final int FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;
    /** TcpInputFuzzTest's record flags: to the connection, relative numbers, fill the checksum, then read. */
    private static final int CONN = 0, LISTENER = 2, QUOTE = 3, REL = 4, SUM = 8, READ = 16, WRITE = 32, TIME = 64, SHUT = 128;
    /** A timestamp option (with NOPs) newer than the handshake's. */
    private static int[] ts(int val) { return new int[] {1, 1, 8, 10, val >>> 24, val >>> 16 & 0xff, val >>> 8 & 0xff, val & 0xff, 0, 0, 0, 0}; }
    private static final int[] NO_OPTIONS = {};
}
