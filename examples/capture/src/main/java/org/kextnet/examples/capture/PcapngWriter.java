package org.kextnet.examples.capture;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes captured frames as pcapng (the IETF draft "PCAP Next Generation (pcapng) Capture File Format"): each file is
 * one section, a Section Header Block, one Interface Description Block for the captured interface, then an Enhanced
 * Packet Block per frame, little-endian, timestamps in microseconds (the default {@code if_tsresol}).
 *
 * <p>Rotation by size: when a file would grow past {@code rotateBytes}, it is closed and the next one started, with
 * its own section and interface blocks so that every file reads on its own: {@code cap.pcapng}, {@code cap-1.pcapng},
 * {@code cap-2.pcapng} ... With {@code maxFiles}, the oldest file is deleted when a new one would make more.
 *
 * <p>Not thread-safe: one thread writes (the server's).
 */
final class PcapngWriter implements AutoCloseable {
    /** LINKTYPE_ETHERNET, and LINKTYPE_RAW (IPv4 or IPv6 with no link header: TUN, loopback). */
    static final int LINKTYPE_ETHERNET = 1, LINKTYPE_RAW = 101;
    /** {@code epb_flags} directions. */
    static final int INBOUND = 1, OUTBOUND = 2;

    private static final int SHB = 0x0A0D0D0A, IDB = 0x00000001, EPB = 0x00000006, BYTE_ORDER_MAGIC = 0x1A2B3C4D;

    private final Path first;
    private final long rotateBytes;
    private final int maxFiles;
    private final int linkType, snapLength;
    private final String ifName;
    private final ByteBuffer block = ByteBuffer.allocate(65536 + 64).order(ByteOrder.LITTLE_ENDIAN);
    private final ArrayDeque<Path> kept = new ArrayDeque<>();
    private final List<Path> written = new ArrayList<>();
    private FileChannel out;
    private long size;
    private int sequence;
    private long packets, bytes;

    /**
     * Creates (or truncates) {@code file} and writes its headers.
     * @param rotateBytes start a new file before one grows past this, or 0 never to
     * @param maxFiles    keep at most this many files, or 0 to keep all
     */
    PcapngWriter(Path file, String ifName, int linkType, int snapLength, long rotateBytes, int maxFiles) throws IOException {
        this.first = file;
        this.ifName = ifName;
        this.linkType = linkType;
        this.snapLength = snapLength;
        this.rotateBytes = rotateBytes;
        this.maxFiles = maxFiles;
        open(file);
    }

    /**
     * One frame: {@code data[0..captured)} of a frame {@code original} bytes long, seen at {@code micros} (since the
     * epoch) going {@link #INBOUND} or {@link #OUTBOUND}.
     */
    void write(long micros, int direction, byte[] data, int captured, int original) throws IOException {
        int padded = (captured + 3) & ~3;
        int length = 28 + padded + 12 + 4; // header, data, epb_flags option and end of options, trailing length
        if (rotateBytes > 0 && size + length > rotateBytes && size > headerBytes()) rotate();
        block.clear();
        block.putInt(EPB).putInt(length).putInt(0) // interface 0: the file's one interface
                .putInt((int) (micros >>> 32)).putInt((int) micros).putInt(captured).putInt(original)
                .put(data, 0, captured);
        for (int i = captured; i < padded; i++) block.put((byte) 0);
        block.putShort((short) 2).putShort((short) 4).putInt(direction) // epb_flags: the direction in bits 0-1
                .putShort((short) 0).putShort((short) 0)                // opt_endofopt
                .putInt(length);
        flushBlock();
        packets++;
        bytes += captured;
    }

    /** Files written so far, oldest first (those deleted by {@code maxFiles} included). */
    List<Path> files() { return List.copyOf(written); }

    long packets() { return packets; }

    long bytes() { return bytes; }

    @Override public void close() throws IOException {
        if (out != null) out.close();
        out = null;
    }

    private long headerBytes() {
        return shbLength() + idbLength();
    }

    private void rotate() throws IOException {
        out.close();
        sequence++;
        String name = first.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String next = dot > 0 ? name.substring(0, dot) + "-" + sequence + name.substring(dot) : name + "-" + sequence;
        open(first.resolveSibling(next));
    }

    private void open(Path file) throws IOException {
        if (maxFiles > 0 && kept.size() == maxFiles) Files.deleteIfExists(kept.removeFirst());
        out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        kept.addLast(file);
        written.add(file);
        size = 0;
        sectionHeader();
        interfaceDescription();
    }

    private static final byte[] APPLICATION = "kextnet capture sample".getBytes(StandardCharsets.UTF_8);

    private int shbLength() { return 24 + option(APPLICATION.length) + 4 + 4; }

    private int idbLength() { return 16 + option(ifName.getBytes(StandardCharsets.UTF_8).length) + option(1) + 4 + 4; }

    private static int option(int valueLength) { return 4 + ((valueLength + 3) & ~3); }

    private void sectionHeader() throws IOException {
        int length = shbLength();
        block.clear();
        block.putInt(SHB).putInt(length).putInt(BYTE_ORDER_MAGIC).putShort((short) 1).putShort((short) 0)
                .putLong(-1); // section length: not given
        putOption(4, APPLICATION); // shb_userappl
        block.putInt(0).putInt(length);
        flushBlock();
    }

    private void interfaceDescription() throws IOException {
        int length = idbLength();
        block.clear();
        block.putInt(IDB).putInt(length).putShort((short) linkType).putShort((short) 0).putInt(snapLength);
        putOption(2, ifName.getBytes(StandardCharsets.UTF_8)); // if_name
        putOption(9, new byte[] {6});                          // if_tsresol: microseconds
        block.putInt(0).putInt(length);
        flushBlock();
    }

    private void putOption(int code, byte[] value) {
        block.putShort((short) code).putShort((short) value.length).put(value);
        for (int i = value.length; (i & 3) != 0; i++) block.put((byte) 0);
    }

    private void flushBlock() throws IOException {
        block.flip();
        size += block.remaining();
        while (block.hasRemaining()) out.write(block);
    }
}
