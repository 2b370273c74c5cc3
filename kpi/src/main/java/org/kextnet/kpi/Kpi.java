package org.kextnet.kpi;

import java.util.List;

import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.domain.DomainKpi;
import org.kextnet.kpi.event.EventKpi;
import org.kextnet.kpi.interfacefilter.InterfaceFilterKpi;
import org.kextnet.kpi.ipfilter.IpFilterKpi;
import org.kextnet.kpi.mbuf.MbufKpi;
import org.kextnet.kpi.net.InterfaceKpi;
import org.kextnet.kpi.protocol.ProtocolKpi;
import org.kextnet.kpi.socketfilter.SocketFilterKpi;

/**
 * The kernel as one extension sees it: a handle bound to that extension, given to
 * {@link KernelExtension#start}. Every registration made through it (or through the sub-KPIs it returns) is
 * recorded against the extension, so that unload can verify that none is left and remove stragglers.
 *
 * <p>Thread-safe: any of the extension's threads and callbacks may use it. After the extension is unloaded,
 * every registration call fails with {@link Errno#ENXIO}.
 */
public interface Kpi {
    /** The extension's name (its server name or bundle id). */
    String name();

    /** The KPI version, raised when methods are added ({@code 1} for this one). */
    default int version() { return 1; }

    MbufKpi mbufs();

    IpFilterKpi ipFilters();

    InterfaceFilterKpi interfaceFilters();

    SocketFilterKpi socketFilters();

    InterfaceKpi interfaces();

    ProtocolKpi protocols();

    DomainKpi domains();

    ControlKpi controls();

    EventKpi events();

    Callouts callouts();

    /** The extension's log; messages are kept per extension and shown by the loader. */
    System.Logger log();

    /** The extension's live registrations (including those being detached), oldest first; a snapshot. */
    List<Registration> registrations();

    /**
     * Starts removing every registration of the extension (filters, controls without clients, plumbers,
     * protocols, interfaces, subscriptions, callouts, control connections), as each one's own remove would.
     *
     * @return 0 if nothing remains registered, or {@link Errno#EBUSY} while something does (a final
     *         callback has not run yet, or a control still has clients): call again later
     */
    int removeAll();
}
