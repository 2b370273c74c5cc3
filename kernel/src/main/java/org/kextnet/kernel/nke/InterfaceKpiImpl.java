package org.kextnet.kernel.nke;

import java.util.List;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetInit;
import org.kextnet.kpi.net.InterfaceKpi;

/** {@link InterfaceKpi} bound to one extension, over the kernel's extension interfaces. */
final class InterfaceKpiImpl implements InterfaceKpi {
    private final ExtensionInterfaces interfaces;
    private final ExtensionHandle owner;

    InterfaceKpiImpl(ExtensionInterfaces interfaces, ExtensionHandle owner) {
        this.interfaces = interfaces;
        this.owner = owner;
    }

    @Override public Ifnet findByName(String name) { return interfaces.find(name); }

    @Override public List<Ifnet> list() { return interfaces.list(); }

    @Override public Ifnet allocate(IfnetInit init) throws KpiException { return interfaces.allocate(owner, init); }

    @Override public int attach(Ifnet ifp) { return interfaces.attach(owner, ifp); }

    @Override public int detach(Ifnet ifp) { return interfaces.detach(owner, ifp); }
}
