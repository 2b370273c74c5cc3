package org.kextnet.kpi.mbuf;

/**
 * Allocating packets and finding tag ids. Allocation never blocks (xnu's {@code MBUF_DONTWAIT} is the only
 * mode): with no buffer free it returns null, and the caller drops and counts.
 */
public interface MbufKpi {
    /**
     * A new empty packet with a packet header and room for {@code length} bytes after the standard headroom
     * ({@code mbuf_allocpacket}); set its length with {@link Mbuf#setLength}. The caller owns it.
     * @return the packet, or null when no buffer is free or {@code length} is larger than {@link #maxLength()}
     */
    Mbuf allocate(int length);

    /** The largest packet {@link #allocate} can return in one buffer (about 64 KiB). */
    int maxLength();

    /** Bytes of headroom a newly allocated packet has in front of its data. */
    int headroom();

    /**
     * The tag id for an extension's name ({@code mbuf_tag_id_find}), usually its bundle id such as
     * {@code "com.example.nke.logger"}: the same string always gives the same id while the kernel runs.
     * Call it once at start.
     */
    int tagIdFind(String name);
}
