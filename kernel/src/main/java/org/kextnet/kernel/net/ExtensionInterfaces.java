package org.kextnet.kernel.net;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.nke.Unsupported;
import org.kextnet.kpi.net.InterfaceKpi;

/** Interfaces created by extensions. */
public final class ExtensionInterfaces {
    private final Kernel kernel;

    public ExtensionInterfaces(Kernel kernel) { this.kernel = kernel; }

    public Kernel kernel() { return kernel; }

    public InterfaceKpi kpi(ExtensionHandle owner) { return Unsupported.of(InterfaceKpi.class, "extension interfaces"); }
}
