package org.kextnet.kernel.nke;

import org.kextnet.kernel.domain.Domains;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.domain.DomainKpi;
import org.kextnet.kpi.domain.ProtocolSwitch;

/** {@link DomainKpi} bound to one extension, over the kernel's domain protocols. */
final class DomainKpiImpl implements DomainKpi {
    private final Domains domains;
    private final Owner owner;

    DomainKpiImpl(Domains domains, Owner owner) {
        this.domains = domains;
        this.owner = owner;
    }

    @Override public ProtocolRef addProtocol(int domain, ProtocolSwitch protocol) throws KpiException {
        return domains.add(owner, domain, protocol);
    }

    @Override public int removeProtocol(ProtocolRef ref) {
        if (!(ref instanceof Domains.Entry e) || e.owner() != owner) return Errno.ENOENT;
        return e.remove(Removal.REQUESTED);
    }
}
