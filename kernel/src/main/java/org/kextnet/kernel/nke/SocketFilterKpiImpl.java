package org.kextnet.kernel.nke;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.socket.FilteredSocket;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterKpi;
import org.kextnet.kpi.socketfilter.SocketFilterParams;
import org.kextnet.kpi.socketfilter.SocketFilterRef;

/** {@link SocketFilterKpi} bound to one extension, over the kernel's socket filter registry. */
final class SocketFilterKpiImpl implements SocketFilterKpi {
    private final SocketFilters registry;
    private final Owner owner;

    SocketFilterKpiImpl(SocketFilters registry, Owner owner) {
        this.registry = registry;
        this.owner = owner;
    }

    @Override public SocketFilterRef register(SocketFilterParams params, SocketFilter filter) throws KpiException {
        return registry.register(owner, params, filter);
    }

    @Override public int attach(Socket so, int handle) { return registry.attach(so, handle); }

    @Override public int detach(Socket so, int handle) { return registry.detach(so, handle); }

    @Override public int injectDataIn(Socket so, int resumeAfter, SockAddr from, Mbuf data,
                                      Mbuf control, int flags) {
        if (!(so instanceof FilteredSocket fs)) return Errno.EINVAL;
        if (control != null) control.free(); // no ancillary data on these sockets yet: consumed
        return fs.injectIn(from, (Packet) data, resumeAfter);
    }

    @Override public int injectDataOut(Socket so, int resumeAfter, SockAddr to, Mbuf data,
                                       Mbuf control, int flags) {
        if (control != null) control.free();
        if (!(so instanceof FilteredSocket fs)) {
            data.free();
            return Errno.EINVAL;
        }
        return fs.injectOut(to, (Packet) data, resumeAfter);
    }
}
