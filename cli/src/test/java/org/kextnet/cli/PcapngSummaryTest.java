package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The main job's pcapng reader on files made here block by block, in both byte orders, and on broken ones. */
class PcapngSummaryTest {
    @TempDir Path dir;

    /** An IPv4 packet of {@code length} bytes from 10.0.0.2 to 10.0.0.1 with protocol {@code proto}; ICMP type {@code type}. */
    static byte[] ipv4(int length, int proto, int type) {
        ByteBuffer b = ByteBuffer.allocate(length);
        b.put(0, (byte) 0x45).put(9, (byte) proto).put(12, new byte[] {10, 0, 0, 2}).put(16, new byte[] {10, 0, 0, 1}).put(20, (byte) type);
        return b.array();
    }

    static byte[] ethernet(byte[] ip, int etherType) {
        ByteBuffer b = ByteBuffer.allocate(14 + ip.length);
        b.putShort(12, (short) etherType).put(14, ip);
        return b.array();
    }

    /** A file: SHB, then for each (link type, packet) pair an IDB and an EPB, with an unknown block between. */
    static byte[] file(ByteOrder order, int linkType, byte[]... packets) {
        ByteBuffer b = ByteBuffer.allocate(4096).order(order);
        b.putInt(0x0A0D0D0A).putInt(28).putInt(0x1A2B3C4D).putShort((short) 1).putShort((short) 0).putLong(-1).putInt(28);
        b.putInt(1).putInt(20).putShort((short) linkType).putShort((short) 0).putInt(65535).putInt(20);
        b.putInt(0x0BAD).putInt(16).putInt(7).putInt(16); // a block this reader does not know: skipped by its length
        for (byte[] p : packets) {
            int padded = (p.length + 3) & ~3, length = 32 + padded;
            b.putInt(6).putInt(length).putInt(0).putInt(0).putInt(0).putInt(p.length).putInt(p.length + 10).put(p);
            b.position(b.position() + padded - p.length).putInt(length);
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    Path write(byte[] content) throws IOException {
        return Files.write(dir.resolve("t.pcapng"), content);
    }

    @Test void readsEthernetFramesInEitherByteOrder() throws Exception {
        for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
            Path f = write(file(order, 1, ethernet(ipv4(84, 1, 8), 0x0800), ethernet(ipv4(84, 1, 0), 0x0800),
                    ethernet(ipv4(41, 17, 0), 0x0800), ethernet(new byte[28], 0x0806), ethernet(new byte[40], 0x86dd)));
            assertThat(PcapngSummary.read(f)).as(order.toString()).containsExactly(
                    new PcapngSummary.Packet(98, 108, "10.0.0.2 > 10.0.0.1 ICMP echo request"),
                    new PcapngSummary.Packet(98, 108, "10.0.0.2 > 10.0.0.1 ICMP echo reply"),
                    new PcapngSummary.Packet(55, 65, "10.0.0.2 > 10.0.0.1 UDP"),
                    new PcapngSummary.Packet(42, 52, "ARP"),
                    new PcapngSummary.Packet(54, 64, "EtherType 0x86dd"));
        }
    }

    @Test void readsRawIpFrames() throws Exception {
        Path f = write(file(ByteOrder.LITTLE_ENDIAN, 101, ipv4(84, 1, 3), ipv4(60, 6, 0)));
        assertThat(PcapngSummary.read(f)).extracting(PcapngSummary.Packet::summary)
                .containsExactly("10.0.0.2 > 10.0.0.1 ICMP unreachable", "10.0.0.2 > 10.0.0.1 TCP");
    }

    @Test void brokenFilesAreRefusedWithWhereTheyBreak() throws Exception {
        byte[] good = file(ByteOrder.LITTLE_ENDIAN, 1, ethernet(ipv4(84, 1, 8), 0x0800));
        byte[] cut = java.util.Arrays.copyOf(good, good.length - 8);
        assertThatThrownBy(() -> PcapngSummary.read(write(cut))).isInstanceOf(IOException.class).hasMessageContaining("bad block length");
        byte[] magic = good.clone();
        magic[8] = 0;
        assertThatThrownBy(() -> PcapngSummary.read(write(magic))).isInstanceOf(IOException.class).hasMessageContaining("byte-order magic");
        byte[] iface = good.clone();
        ByteBuffer.wrap(iface).order(ByteOrder.LITTLE_ENDIAN).putInt(28 + 20 + 16 + 8, 3); // the EPB names interface 3
        assertThatThrownBy(() -> PcapngSummary.read(write(iface))).isInstanceOf(IOException.class).hasMessageContaining("bad enhanced packet block");
        byte[] tail = java.util.Arrays.copyOf(good, good.length + 4);
        assertThatThrownBy(() -> PcapngSummary.read(write(tail))).isInstanceOf(IOException.class).hasMessageContaining("4 bytes after the last block");
    }
}
