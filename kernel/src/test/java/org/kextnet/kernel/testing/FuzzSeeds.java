package org.kextnet.kernel.testing;

import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.OUR_MAC;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP1;
import static org.kextnet.kernel.testing.TestNet.PEER_MAC;

import java.io.IOException;
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
    }

    private static void write(Path dir, String name, List<Record> records) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve(name), FuzzRecords.encode(records));
    }
}
