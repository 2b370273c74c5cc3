package org.kextnet.kernel.nke;

import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Interfaces;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.interfacefilter.InterfaceFilterKpi;
import org.kextnet.kpi.interfacefilter.InterfaceFilterRef;
import org.kextnet.kpi.net.Ifnet;

/** {@link InterfaceFilterKpi} bound to one extension. */
final class InterfaceFilterKpiImpl implements InterfaceFilterKpi {
    private final ExtensionHandle owner;
    private final Interfaces interfaces;

    InterfaceFilterKpiImpl(ExtensionHandle owner, Interfaces interfaces) {
        this.owner = owner;
        this.interfaces = interfaces;
    }

    @Override public InterfaceFilterRef attach(Ifnet ifp, String name, int protocolFamily, Position position,
                                               InterfaceFilter filter) throws KpiException {
        owner.checkOpen();
        if (!(ifp instanceof Interface i) || i.table() != interfaces) throw new KpiException(Errno.EINVAL, "not an interface of this kernel");
        return i.filters().attach(owner, name, protocolFamily, position, filter);
    }
}
