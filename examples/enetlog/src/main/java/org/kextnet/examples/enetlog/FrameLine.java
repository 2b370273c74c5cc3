package org.kextnet.examples.enetlog;

import static org.kextnet.examples.enetlog.FrameTap.F_ADDRS;
import static org.kextnet.examples.enetlog.FrameTap.F_DST_MAC;
import static org.kextnet.examples.enetlog.FrameTap.F_EXTRA;
import static org.kextnet.examples.enetlog.FrameTap.F_L4;
import static org.kextnet.examples.enetlog.FrameTap.F_SRC_MAC;
import static org.kextnet.examples.enetlog.FrameTap.F_TIME;
import static org.kextnet.examples.enetlog.FrameTap.F_TYPE;
import static org.kextnet.examples.enetlog.FrameTap.F_WHAT;

import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;

/**
 * One frame record as one line of text, off the packet path:
 * <pre>
 * 14:02:11.250213 wire0 in  98 02:00:00:00:02:01 > 02:00:00:00:01:01 IPv4 10.0.0.2 > 10.0.0.1 ICMP echo request id 7 seq 1
 * 14:02:11.250390 wire0 out 42 02:00:00:00:01:01 > ff:ff:ff:ff:ff:ff ARP who-has 10.0.0.2 tell 10.0.0.1
 * 14:02:11.250522 lo0 out 84 IPv4 127.0.0.1 > 127.0.0.1 UDP 4000 > 7
 * </pre>
 * local time with microseconds, interface, direction, frame length (link header included, no FCS), the link
 * addresses (source, then destination; none on links without a header), then the EtherType and what lies behind it.
 */
final class FrameLine {
    private FrameLine() {}

    static String format(long[] r, String ifName) {
        StringBuilder b = new StringBuilder(112);
        long micros = r[F_TIME];
        LocalTime t = LocalTime.ofInstant(Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000), Math.floorMod(micros, 1_000_000) * 1000L),
                ZoneId.systemDefault());
        b.append(String.format("%02d:%02d:%02d.%06d", t.getHour(), t.getMinute(), t.getSecond(), t.getNano() / 1000));
        long what = r[F_WHAT];
        b.append(' ').append(ifName).append(((what >>> 32) & 1) == FrameTap.IN ? " in  " : " out ").append((int) what);
        if (r[F_SRC_MAC] >= 0) b.append(' ').append(mac(r[F_SRC_MAC])).append(" > ").append(mac(r[F_DST_MAC]));
        b.append(' ');
        int type = (int) r[F_TYPE];
        long l4 = r[F_L4];
        boolean valid = (l4 & FrameTap.VALID) != 0;
        switch (type) {
            case 0x0800 -> {
                b.append("IPv4");
                if (valid) ipv4(b, r[F_ADDRS], l4, r[F_EXTRA]);
            }
            case 0x0806 -> {
                b.append("ARP");
                if (valid) arp(b, r[F_ADDRS], (int) (l4 >>> 32), r[F_EXTRA]);
            }
            case 0x86dd -> b.append("IPv6");
            default -> b.append(String.format("0x%04x", type));
        }
        return b.toString();
    }

    private static void ipv4(StringBuilder b, long addrs, long l4, long extra) {
        b.append(' ').append(ip((int) (addrs >>> 32))).append(" > ").append(ip((int) addrs)).append(' ');
        int proto = (int) (l4 >>> 48) & 0xff, x = (int) (l4 >>> 32) & 0xffff, y = (int) (l4 >>> 16) & 0xffff;
        String name = switch (proto) {
            case 1 -> "ICMP";
            case 6 -> "TCP";
            case 17 -> "UDP";
            default -> "proto " + proto;
        };
        b.append(name);
        if ((l4 & FrameTap.PORTS) != 0) {
            b.append(' ').append(x).append(" > ").append(y);
        } else if ((l4 & FrameTap.ICMP) != 0) {
            switch (x) {
                case 8, 0 -> b.append(x == 8 ? " echo request" : " echo reply").append(" id ").append((extra >>> 16) & 0xffff)
                        .append(" seq ").append(extra & 0xffff);
                case 3 -> b.append(" unreachable code ").append(y);
                case 11 -> b.append(" time exceeded");
                default -> b.append(" type ").append(x).append(" code ").append(y);
            }
        }
        if ((l4 & FrameTap.FRAGMENT) != 0) b.append(" fragment");
    }

    private static void arp(StringBuilder b, long addrs, int op, long senderMac) {
        int spa = (int) (addrs >>> 32), tpa = (int) addrs;
        switch (op) {
            case 1 -> b.append(" who-has ").append(ip(tpa)).append(" tell ").append(ip(spa));
            case 2 -> b.append(" reply ").append(ip(spa)).append(" is-at ").append(mac(senderMac));
            default -> b.append(" op ").append(op);
        }
    }

    static String ip(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
    }

    static String mac(long m) {
        return String.format("%02x:%02x:%02x:%02x:%02x:%02x", (m >>> 40) & 0xff, (m >>> 32) & 0xff, (m >>> 24) & 0xff,
                (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);
    }
}
