package org.kextnet.kernel.buf;

import java.util.Arrays;

/**
 * The tags of one packet: small typed records keyed by (owner id, type) that travel with the packet
 * through the stack, as {@code mbuf_tag_allocate/find/free}. The table and its slots belong to the
 * buffer and are reused when the buffer is, so tagging allocates nothing in steady state.
 */
public final class PacketTags {
    /** Largest tag payload, in bytes. */
    public static final int MAX_TAG_LENGTH = 64;
    private static final int INITIAL = 2;

    private int[] ids = new int[INITIAL];
    private int[] types = new int[INITIAL];
    private int[] lengths = new int[INITIAL];
    private byte[][] data = new byte[INITIAL][];
    private int count;

    public int count() { return count; }

    /**
     * Adds a tag, or returns the existing one's payload; the payload is zeroed on allocation.
     * @return the payload array (its first {@code length} bytes are the tag), or null if length is invalid
     */
    public byte[] allocate(int id, int type, int length) {
        if (length < 1 || length > MAX_TAG_LENGTH || type < 0 || type > 0xffff) return null;
        int i = indexOf(id, type);
        if (i < 0) {
            if (count == ids.length) grow();
            i = count++;
            ids[i] = id;
            types[i] = type;
            if (data[i] == null) data[i] = new byte[MAX_TAG_LENGTH];
        }
        lengths[i] = length;
        Arrays.fill(data[i], 0, MAX_TAG_LENGTH, (byte) 0);
        return data[i];
    }

    /** The payload of tag (id, type), or null. */
    public byte[] find(int id, int type) {
        int i = indexOf(id, type);
        return i < 0 ? null : data[i];
    }

    /** The payload length of tag (id, type), or -1. */
    public int length(int id, int type) {
        int i = indexOf(id, type);
        return i < 0 ? -1 : lengths[i];
    }

    /** Removes tag (id, type); returns whether it was there. */
    public boolean free(int id, int type) {
        int i = indexOf(id, type);
        if (i < 0) return false;
        int last = --count;
        if (i != last) {
            ids[i] = ids[last]; types[i] = types[last]; lengths[i] = lengths[last];
            byte[] d = data[i]; data[i] = data[last]; data[last] = d;
        }
        return true;
    }

    /** Copies every tag of {@code other} into this table (used when a packet is copied). */
    public void copyFrom(PacketTags other) {
        for (int i = 0; i < other.count; i++) {
            byte[] d = allocate(other.ids[i], other.types[i], other.lengths[i]);
            System.arraycopy(other.data[i], 0, d, 0, other.lengths[i]);
        }
    }

    void clear() { count = 0; }

    private int indexOf(int id, int type) {
        for (int i = 0; i < count; i++) if (ids[i] == id && types[i] == type) return i;
        return -1;
    }

    private void grow() {
        int n = ids.length * 2;
        ids = Arrays.copyOf(ids, n);
        types = Arrays.copyOf(types, n);
        lengths = Arrays.copyOf(lengths, n);
        data = Arrays.copyOf(data, n);
    }
}
