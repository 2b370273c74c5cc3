package org.kextnet.examples.capture;

import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;

/**
 * A captured frame as one line in tcpdump's manner, for live watchers (off the packet path):
 * <pre>
 * 14:02:11.250213 wire0 in  IP 10.99.0.2 > 10.99.0.1: ICMP echo request, id 1, seq 1, length 64
 * 14:02:11.250390 wire0 out IP 10.99.0.1.7 > 10.99.0.2.40000: UDP, length 2
 * 14:02:11.251022 wire0 in  ARP, Request who-has 10.99.0.1 tell 10.99.0.2, length 28
 * </pre>
 * What the snap length cut off shows as {@code [|ip]}, {@code [|udp]} and the like, as tcpdump shows it.
 */
final class PacketLine {
    private PacketLine() {}

    /** {@code frame[0..captured)} of a frame seen at {@code micros}; {@code ethernet} when it starts with an Ethernet header. */
    static String format(long micros, String ifName, boolean inbound, byte[] frame, int captured, boolean ethernet) {
        StringBuilder b = new StringBuilder(96);
        LocalTime t = LocalTime.ofInstant(Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000), Math.floorMod(micros, 1_000_000) * 1000L),
                ZoneId.systemDefault());
        b.append(String.format("%02d:%02d:%02d.%06d ", t.getHour(), t.getMinute(), t.getSecond(), t.getNano() / 1000));
        b.append(ifName).append(inbound ? " in  " : " out ");
        int l3 = 0, type;
        if (ethernet) {
            if (captured < 14) return b.append("[|ether]").toString();
            type = u16(frame, 12);
            l3 = 14;
        } else {
            int v = captured > 0 ? (frame[0] & 0xff) >>> 4 : 0;
            type = v == 4 ? 0x0800 : v == 6 ? 0x86dd : 0;
        }
        switch (type) {
            case 0x0800 -> ip(b, frame, l3, captured);
            case 0x0806 -> arp(b, frame, l3, captured);
            case 0x86dd -> b.append("IP6, length ").append(captured - l3);
            default -> b.append(String.format("ethertype 0x%04x, length %d", type, captured));
        }
        return b.toString();
    }

    private static void ip(StringBuilder b, byte[] f, int l3, int captured) {
        if (captured < l3 + 20) {
            b.append("IP [|ip]");
            return;
        }
        int ihl = (f[l3] & 0x0f) * 4, total = u16(f, l3 + 2), proto = f[l3 + 9] & 0xff, frag = u16(f, l3 + 6);
        String src = ip(f, l3 + 12), dst = ip(f, l3 + 16);
        int x = l3 + ihl;
        boolean later = (frag & 0x1fff) != 0;
        b.append("IP ");
        if ((proto == 6 || proto == 17) && !later) {
            if (captured < x + 4) {
                b.append(src).append(" > ").append(dst).append(proto == 6 ? ": [|tcp]" : ": [|udp]");
                return;
            }
            b.append(src).append('.').append(u16(f, x)).append(" > ").append(dst).append('.').append(u16(f, x + 2)).append(": ");
            if (proto == 17) {
                b.append("UDP, length ").append(total - ihl - 8);
            } else {
                int dataOffset = captured >= x + 13 ? ((f[x + 12] & 0xf0) >>> 4) * 4 : 20;
                b.append("TCP, length ").append(total - ihl - dataOffset);
            }
        } else {
            b.append(src).append(" > ").append(dst).append(": ");
            if (proto == 1 && !later) {
                icmp(b, f, x, captured, total - ihl);
            } else {
                b.append(proto == 1 ? "ICMP" : proto == 6 ? "TCP" : proto == 17 ? "UDP" : "proto " + proto).append(", length ").append(total - ihl);
            }
        }
        if (later || (frag & 0x2000) != 0) b.append(" (frag offset ").append((frag & 0x1fff) * 8).append((frag & 0x2000) != 0 ? "+)" : ")");
    }

    private static void icmp(StringBuilder b, byte[] f, int x, int captured, int length) {
        if (captured < x + 8) {
            b.append("ICMP [|icmp]");
            return;
        }
        int type = f[x] & 0xff, code = f[x + 1] & 0xff;
        b.append("ICMP ");
        switch (type) {
            case 8, 0 -> b.append(type == 8 ? "echo request" : "echo reply").append(", id ").append(u16(f, x + 4)).append(", seq ").append(u16(f, x + 6));
            case 3 -> b.append("unreachable, code ").append(code);
            case 11 -> b.append("time exceeded in-transit");
            default -> b.append("type ").append(type).append(", code ").append(code);
        }
        b.append(", length ").append(length);
    }

    private static void arp(StringBuilder b, byte[] f, int l3, int captured) {
        if (captured < l3 + 28) {
            b.append("ARP [|arp]");
            return;
        }
        int op = u16(f, l3 + 6);
        b.append("ARP, ");
        switch (op) {
            case 1 -> b.append("Request who-has ").append(ip(f, l3 + 24)).append(" tell ").append(ip(f, l3 + 14));
            case 2 -> b.append("Reply ").append(ip(f, l3 + 14)).append(" is-at ").append(String.format("%02x:%02x:%02x:%02x:%02x:%02x",
                    f[l3 + 8], f[l3 + 9], f[l3 + 10], f[l3 + 11], f[l3 + 12], f[l3 + 13]));
            default -> b.append("op ").append(op);
        }
        b.append(", length 28");
    }

    private static int u16(byte[] f, int at) { return (f[at] & 0xff) << 8 | (f[at + 1] & 0xff); }

    private static String ip(byte[] f, int at) {
        return (f[at] & 0xff) + "." + (f[at + 1] & 0xff) + "." + (f[at + 2] & 0xff) + "." + (f[at + 3] & 0xff);
    }
}
