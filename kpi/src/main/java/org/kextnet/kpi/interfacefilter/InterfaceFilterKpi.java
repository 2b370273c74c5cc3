package org.kextnet.kpi.interfacefilter;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.net.Ifnet;

/** Attaching interface filters ({@code iflt_attach}). */
public interface InterfaceFilterKpi {
    /**
     * Attaches {@code filter} to {@code ifp} ({@code iflt_attach}); it sees frames from the next batch on.
     *
     * @param protocolFamily only frames of this family (after demux), or 0 for all
     * @param name           unique among the interface's filters; used by {@link Position#before}/{@code after}
     * @throws KpiException ENXIO (the interface is detached), EEXIST (name taken), ENOENT (anchor missing)
     */
    InterfaceFilterRef attach(Ifnet ifp, String name, int protocolFamily, Position position, InterfaceFilter filter)
            throws KpiException;
}
