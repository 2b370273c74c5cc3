package org.kextnet.kernel.testing;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The byte format of the fuzz tests' inputs: a sequence of records, each {@code headerBytes} bytes of
 * options, a 16-bit big-endian length and that many bytes of packet (fewer if the input ends first).
 * Seeds are plain to write with {@link #encode}, and the fuzzer mutates packets and options directly.
 */
public final class FuzzRecords {
    /** At most this many packets per input, so one input stays cheap. */
    public static final int MAX_RECORDS = 16;

    public record Record(byte[] options, byte[] packet) {
        public int option(int i) { return options[i] & 0xff; }
    }

    private FuzzRecords() {}

    public static List<Record> parse(byte[] data, int headerBytes) {
        List<Record> out = new ArrayList<>();
        int pos = 0;
        while (out.size() < MAX_RECORDS && pos + headerBytes + 2 <= data.length) {
            byte[] options = Arrays.copyOfRange(data, pos, pos + headerBytes);
            pos += headerBytes;
            int len = (data[pos] & 0xff) << 8 | (data[pos + 1] & 0xff);
            pos += 2;
            int end = Math.min(data.length, pos + len);
            out.add(new Record(options, Arrays.copyOfRange(data, pos, end)));
            pos = end;
        }
        return out;
    }

    public static byte[] encode(List<Record> records) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Record r : records) {
            b.writeBytes(r.options());
            b.write(r.packet().length >>> 8);
            b.write(r.packet().length);
            b.writeBytes(r.packet());
        }
        return b.toByteArray();
    }
}
