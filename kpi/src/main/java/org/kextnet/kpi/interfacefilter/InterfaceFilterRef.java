package org.kextnet.kpi.interfacefilter;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.net.Ifnet;

/** An attached interface filter ({@code interface_filter_t}). */
public interface InterfaceFilterRef extends Registration {
    /** The interface it is attached to. */
    Ifnet ifnet();

    /** Its protocol selector (0 = every protocol). */
    int protocolFamily();

    Position position();

    /**
     * Detaches the filter ({@code iflt_detach}). Returns at once, also from inside the filter's callbacks;
     * {@link InterfaceFilter#detached} follows exactly once after the calls inside it have returned.
     * Idempotent.
     */
    void detach();

    /**
     * Atomically puts {@code replacement} in this filter's place (same interface, selector, name and
     * position); this filter's {@code detached} follows as for {@link #detach}.
     * @throws KpiException EINVAL if this filter is no longer attached
     */
    InterfaceFilterRef replace(InterfaceFilter replacement) throws KpiException;
}
