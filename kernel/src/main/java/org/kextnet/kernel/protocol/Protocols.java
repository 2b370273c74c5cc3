package org.kextnet.kernel.protocol;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.nke.Unsupported;
import org.kextnet.kpi.protocol.ProtocolKpi;

/** Protocol plumbers and attachments. */
public final class Protocols {
    private final Kernel kernel;

    public Protocols(Kernel kernel) { this.kernel = kernel; }

    public Kernel kernel() { return kernel; }

    public ProtocolKpi kpi(ExtensionHandle owner) { return Unsupported.of(ProtocolKpi.class, "protocol plumbers"); }
}
