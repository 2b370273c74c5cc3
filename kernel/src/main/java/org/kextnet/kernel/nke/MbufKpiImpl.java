package org.kextnet.kernel.nke;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.PacketPool;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.mbuf.MbufKpi;

/** {@link MbufKpi} over the kernel's buffer pools. */
final class MbufKpiImpl implements MbufKpi {
    private final Kernel kernel;

    MbufKpiImpl(Kernel kernel) {
        this.kernel = kernel;
    }

    @Override public Mbuf allocate(int length) {
        if (length < 0) return null;
        return kernel.buffers().alloc(length);
    }

    @Override public int maxLength() { return Buffers.LARGE_SIZE - PacketPool.DEFAULT_HEADROOM; }

    @Override public int headroom() { return PacketPool.DEFAULT_HEADROOM; }

    @Override public int tagIdFind(String name) { return kernel.nke().tagId(name); }
}
