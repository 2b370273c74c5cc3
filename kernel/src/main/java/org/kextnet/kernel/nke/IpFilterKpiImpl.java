package org.kextnet.kernel.nke;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.IpFilters;
import org.kextnet.kernel.inet.Ipv4Layer;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterKpi;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;

/** {@link IpFilterKpi} bound to one extension. */
final class IpFilterKpiImpl implements IpFilterKpi {
    private final ExtensionHandle owner;
    private final Ipv4Layer ipv4;
    private final Contexts contexts;

    IpFilterKpiImpl(ExtensionHandle owner, Ipv4Layer ipv4, Contexts contexts) {
        this.owner = owner;
        this.ipv4 = ipv4;
        this.contexts = contexts;
    }

    @Override public IpFilterRef addV4(String name, Position position, IpFilter filter) throws KpiException {
        return ipv4.filters().add(owner, ProtocolFamily.PF_INET, name, position, filter);
    }

    @Override public IpFilterRef addV6(String name, Position position, IpFilter filter) throws KpiException {
        return ipv4.filters().add(owner, ProtocolFamily.PF_INET6, name, position, filter);
    }

    private static IpFilters.Entry entry(IpFilterRef ref) {
        if (ref == null) return null;
        if (!(ref instanceof IpFilters.Entry e)) throw new IllegalArgumentException("not an IP filter of this kernel: " + ref);
        return e;
    }

    @Override public int injectInput(Mbuf data, IpFilterRef resumeAfter) {
        Packet m = (Packet) data;
        if (m.rcvif() == null || m.length() < Ipv4.MIN_HEADER || (m.getU8(0) >>> 4) != 4) return Errno.EINVAL;
        IpFilters.Entry after = entry(resumeAfter);
        PacketContext ctx = contexts.acquire();
        ctx.enter();
        try {
            ipv4.input().deliver(ctx, m, after);
        } finally {
            ctx.exit();
            contexts.release(ctx);
        }
        return 0;
    }

    @Override public int injectOutput(Mbuf data, IpFilterRef resumeAfter, IpPacketOptions options) {
        Packet m = (Packet) data;
        if (m.length() < Ipv4.MIN_HEADER || (m.getU8(0) >>> 4) != 4) {
            m.free();
            return Errno.EINVAL;
        }
        IpFilters.Entry after = entry(resumeAfter);
        PacketContext ctx = contexts.acquire();
        ctx.enter();
        try {
            return ipv4.output().outputPacket(ctx, m, options, after);
        } finally {
            ctx.exit();
            contexts.release(ctx);
        }
    }
}
