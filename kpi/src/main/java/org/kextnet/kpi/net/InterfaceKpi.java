package org.kextnet.kpi.net;

import java.util.List;

import org.kextnet.kpi.KpiException;

/**
 * Finding interfaces, and creating interfaces of the extension's own ({@code ifnet_allocate},
 * {@code ifnet_attach}, {@code ifnet_detach}).
 */
public interface InterfaceKpi {
    /** The attached interface named {@code name}, or null ({@code ifnet_find_by_name}). */
    Ifnet findByName(String name);

    /** Every attached interface, in index order ({@code ifnet_list_get}). */
    List<Ifnet> list();

    /**
     * Allocates an interface ({@code ifnet_allocate}); it is not visible until {@link #attach}. The kernel
     * records it against the extension (kind {@code "ifnet"}) until its {@code detached} callback has run.
     * @throws KpiException EEXIST if an interface with the same full name or unique id exists, EINVAL for
     *         bad parameters
     */
    Ifnet allocate(IfnetInit init) throws KpiException;

    /**
     * Attaches an allocated interface ({@code ifnet_attach}): it gets an index, becomes visible, the
     * kernel plumbs the protocols registered for its family, and {@code KEV_DL_IF_ATTACHED} is posted.
     * The interface starts down; set {@link Ifnet#IFF_UP} to bring it up.
     * @return 0, or EINVAL if it was not allocated by this extension or was attached before (an interface
     *         cannot be re-attached: allocate a new one with the same unique id)
     */
    int attach(Ifnet ifp);

    /**
     * Starts detaching an interface the extension attached ({@code ifnet_detach}). Returns at once:
     * {@code KEV_DL_IF_DETACHING} is posted, the interface's filters and protocols are detached (their
     * {@code detached} callbacks run), then, after every call into the interface has returned,
     * {@code KEV_DL_IF_DETACHED} is posted and the interface's {@code detached} callback runs. The extension
     * must not unload before that.
     * @return 0, or EINVAL if the interface is not attached or not the extension's
     */
    int detach(Ifnet ifp);
}
