package org.kextnet.kpi.control;

import java.nio.ByteBuffer;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * Registering kernel controls, sending data to their clients ({@code ctl_register}, {@code ctl_enqueuedata},
 * {@code ctl_enqueuembuf}, {@code ctl_deregister}), and the client side for code in the JVM.
 */
public interface ControlKpi {
    /** Enqueue flag: do not wake the client's reader yet; more data follows ({@code CTL_DATA_NOWAKEUP}). */
    int DATA_NOWAKEUP = 0x1;
    /** Enqueue flag: this ends a record ({@code CTL_DATA_EOR}). */
    int DATA_EOR = 0x2;

    /**
     * Registers a control ({@code ctl_register}); posts {@code KEV_CTL_REGISTERED}.
     * @throws KpiException EINVAL (empty or too long name, null callbacks), EEXIST (name, or fixed id and
     *         unit, taken)
     */
    ControlRef register(ControlParams params, KernelControl control) throws KpiException;

    /**
     * Deregisters a control ({@code ctl_deregister}); posts {@code KEV_CTL_DEREGISTERED}. Refused while
     * clients are connected: the extension must wait for their disconnects.
     * @return 0, {@link org.kextnet.kpi.Errno#EBUSY} while clients are connected, EINVAL if not registered
     */
    int deregister(ControlRef ref);

    /**
     * Queues a copy of {@code data}'s remaining bytes to the client on {@code unit} ({@code ctl_enqueuedata});
     * consumes them from {@code data} on success.
     * @param flags {@link #DATA_NOWAKEUP}, {@link #DATA_EOR}
     * @return 0, ENOBUFS (the client's queue is full: retry after {@link KernelControl#received}), EINVAL (no
     *         such unit), EMSGSIZE (larger than the client's receive size)
     */
    int enqueueData(ControlRef ref, int unit, ByteBuffer data, int flags);

    /**
     * Queues a packet to the client on {@code unit} ({@code ctl_enqueuembuf}). Takes ownership only on
     * success: on error the caller still owns the packet.
     * @return as {@link #enqueueData}
     */
    int enqueueMbuf(ControlRef ref, int unit, Mbuf m, int flags);

    /** Bytes that can be queued to the client on {@code unit} now ({@code ctl_getenqueuespace}), or -1 if none. */
    int enqueueSpace(ControlRef ref, int unit);

    /**
     * Connects to a control as a client (the socket calls {@code CTLIOCGINFO} + {@code connect}). The
     * connection is recorded against the extension and closed on unload.
     * @param unit 0 for the first free unit
     * @throws KpiException ENOENT (no control of that name), EBUSY (unit taken), EPERM (privileged control),
     *         or the error the control's connect returned
     */
    ControlClient connect(String name, int unit) throws KpiException;
}
