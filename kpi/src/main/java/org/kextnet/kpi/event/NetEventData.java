package org.kextnet.kpi.event;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The payload of data-link events ({@code struct net_event_data}): the interface's family, unit and name.
 * Encoded as: 4-byte family code, 4-byte unit, 16-byte NUL-padded name (IFNAMSIZ), big-endian; inet
 * address events append the 4-byte address.
 */
public record NetEventData(int family, int unit, String name) {
    public static final int LENGTH = 24;
    private static final int IFNAMSIZ = 16;

    /** The encoded payload. */
    public byte[] encode() {
        return encode(0).array();
    }

    /** The encoded payload followed by {@code extra} free bytes (filled by the caller). */
    public ByteBuffer encode(int extra) {
        ByteBuffer b = ByteBuffer.allocate(LENGTH + extra);
        b.putInt(family).putInt(unit);
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        b.put(Arrays.copyOf(n, IFNAMSIZ));
        if (extra > 0) b.position(LENGTH);
        return b;
    }

    /**
     * Decodes the first {@link #LENGTH} bytes of a payload.
     * @throws IllegalArgumentException if the payload is shorter
     */
    public static NetEventData decode(byte[] data) {
        if (data.length < LENGTH) throw new IllegalArgumentException("net event data: " + data.length + " bytes");
        ByteBuffer b = ByteBuffer.wrap(data);
        int family = b.getInt();
        int unit = b.getInt();
        int end = 8;
        while (end < LENGTH && data[end] != 0) end++;
        return new NetEventData(family, unit, new String(data, 8, end - 8, StandardCharsets.US_ASCII));
    }
}
