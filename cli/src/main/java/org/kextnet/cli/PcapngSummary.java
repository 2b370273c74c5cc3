package org.kextnet.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a pcapng file back for the main job, so that it can show what the capture sample wrote without tshark: the
 * packets of each Enhanced Packet Block, one line each (lengths, IPv4 addresses, protocol, ICMP type). Only what the
 * capture sample writes is understood: Section Header, Interface Description and Enhanced Packet Blocks of
 * Ethernet (link type 1) or raw IP (101) interfaces; other blocks are skipped by their length, as the format allows.
 */
final class PcapngSummary {
    private static final int SHB = 0x0A0D0D0A, IDB = 1, EPB = 6, BYTE_ORDER_MAGIC = 0x1A2B3C4D;
    private static final int LINKTYPE_ETHERNET = 1, LINKTYPE_RAW = 101;
    /** Larger than any block the capture sample writes (its snap length is at most 65535). */
    private static final int MAX_BLOCK = 1 << 20;

    /** One captured packet: its captured and original lengths and what it is. */
    record Packet(int captured, int original, String summary) {}

    private PcapngSummary() {}

    /**
     * The packets in {@code file}, in order.
     * @throws IOException if the file cannot be read or is not pcapng as the capture sample writes it
     */
    static List<Packet> read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        List<Integer> linkTypes = new ArrayList<>();
        List<Packet> packets = new ArrayList<>();
        while (b.remaining() >= 12) {
            int start = b.position();
            int type = b.getInt(start); // the SHB's type reads the same in either byte order
            if (type == SHB) {
                int magic = b.getInt(start + 8);
                if (magic == BYTE_ORDER_MAGIC) b.order(ByteOrder.BIG_ENDIAN);
                else if (Integer.reverseBytes(magic) == BYTE_ORDER_MAGIC) b.order(ByteOrder.LITTLE_ENDIAN);
                else throw new IOException(file + ": bad byte-order magic at offset " + start);
                linkTypes.clear(); // interface ids are per section
            }
            int length = b.getInt(start + 4);
            if (length < 12 || length % 4 != 0 || length > MAX_BLOCK || length > b.limit() - start) {
                throw new IOException(file + ": bad block length " + length + " at offset " + start);
            }
            if (type == IDB) linkTypes.add(b.getShort(start + 8) & 0xffff);
            else if (type == EPB) {
                int iface = b.getInt(start + 8), captured = b.getInt(start + 20), original = b.getInt(start + 24);
                if (iface < 0 || iface >= linkTypes.size() || captured < 0 || captured > length - 32) {
                    throw new IOException(file + ": bad enhanced packet block at offset " + start);
                }
                packets.add(new Packet(captured, original, describe(b.slice(start + 28, captured), linkTypes.get(iface))));
            }
            b.position(start + length);
        }
        if (b.hasRemaining()) throw new IOException(file + ": " + b.remaining() + " bytes after the last block");
        return packets;
    }

    /** "10.99.0.2 > 10.99.0.1 ICMP echo request", "ARP", or the EtherType. */
    private static String describe(ByteBuffer p, int linkType) {
        p.order(ByteOrder.BIG_ENDIAN);
        int ip = 0;
        if (linkType == LINKTYPE_ETHERNET) {
            if (p.limit() < 14) return "short frame";
            int etherType = p.getShort(12) & 0xffff;
            if (etherType == 0x0806) return "ARP";
            if (etherType != 0x0800) return String.format("EtherType 0x%04x", etherType);
            ip = 14;
        } else if (linkType != LINKTYPE_RAW) {
            return "link type " + linkType;
        }
        if (p.limit() < ip + 20 || (p.get(ip) & 0xf0) != 0x40) return "not IPv4";
        String addrs = address(p, ip + 12) + " > " + address(p, ip + 16);
        int proto = p.get(ip + 9) & 0xff, icmp = ip + (p.get(ip) & 0x0f) * 4;
        return switch (proto) {
            case 1 -> addrs + " ICMP " + (p.limit() <= icmp ? "" : switch (p.get(icmp) & 0xff) {
                case 0 -> "echo reply";
                case 8 -> "echo request";
                case 3 -> "unreachable";
                default -> "type " + (p.get(icmp) & 0xff);
            });
            case 6 -> addrs + " TCP";
            case 17 -> addrs + " UDP";
            default -> addrs + " protocol " + proto;
        };
    }

    private static String address(ByteBuffer p, int at) {
        return (p.get(at) & 0xff) + "." + (p.get(at + 1) & 0xff) + "." + (p.get(at + 2) & 0xff) + "." + (p.get(at + 3) & 0xff);
    }
}
