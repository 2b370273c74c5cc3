package org.kextnet.kernel.socket;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.nke.Unsupported;
import org.kextnet.kpi.socketfilter.SocketFilterKpi;

/** The socket filters registered with the kernel. */
public final class SocketFilters {
    private final Kernel kernel;

    public SocketFilters(Kernel kernel) { this.kernel = kernel; }

    public Kernel kernel() { return kernel; }

    public SocketFilterKpi kpi(ExtensionHandle owner) { return Unsupported.of(SocketFilterKpi.class, "socket filters"); }
}
