package org.kextnet.kernel.nke;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.PacketPool;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.mbuf.MbufKpi;

/** {@link MbufKpi} over the kernel's buffer pools. */
final class MbufKpiImpl implements MbufKpi {
    private final Buffers buffers;
    private final Nke nke;

    MbufKpiImpl(Buffers buffers, Nke nke) {
        this.buffers = buffers;
        this.nke = nke;
    }

    @Override public Mbuf allocate(int length) {
        if (length < 0) return null;
        return buffers.alloc(length);
    }

    @Override public int maxLength() { return Buffers.LARGE_SIZE - PacketPool.DEFAULT_HEADROOM; }

    @Override public int headroom() { return PacketPool.DEFAULT_HEADROOM; }

    @Override public int tagIdFind(String name) { return nke.tagId(name); }
}
