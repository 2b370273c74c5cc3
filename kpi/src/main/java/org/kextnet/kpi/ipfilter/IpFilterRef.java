package org.kextnet.kpi.ipfilter;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;

/**
 * An attached IP filter ({@code ipfilter_t}): remove it, replace it, or pass it to the inject calls to
 * resume after it.
 */
public interface IpFilterRef extends Registration {
    /** {@link org.kextnet.kpi.net.ProtocolFamily#PF_INET} or {@code PF_INET6}. */
    int family();

    /** Where the filter sits in the chain. */
    Position position();

    /**
     * Removes the filter ({@code ipf_remove}). Returns at once, and may be called from inside the filter's
     * own callbacks: no new call enters the filter once this returns; {@link IpFilter#detached} follows,
     * exactly once, after the calls already inside it have returned. Idempotent.
     */
    void remove();

    /**
     * Atomically puts {@code replacement} in this filter's place: every packet sees either this filter or the
     * replacement, never both and never neither. This filter's {@code detached} follows as for {@link #remove}.
     * A reference passed to an inject call after the replacement resumes after the replacement.
     *
     * @return the replacement's reference (same name and position)
     * @throws KpiException EINVAL if this filter is no longer attached
     */
    IpFilterRef replace(IpFilter replacement) throws KpiException;
}
