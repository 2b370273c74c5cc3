package org.kextnet.kernel.domain;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.nke.Unsupported;
import org.kextnet.kpi.domain.DomainKpi;

/** Protocols added to domains by extensions. */
public final class Domains {
    private final Kernel kernel;

    public Domains(Kernel kernel) { this.kernel = kernel; }

    public Kernel kernel() { return kernel; }

    public DomainKpi kpi(ExtensionHandle owner) { return Unsupported.of(DomainKpi.class, "domains"); }
}
