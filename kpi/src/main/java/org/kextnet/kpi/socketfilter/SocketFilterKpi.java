package org.kextnet.kpi.socketfilter;

import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;

/** Registering socket filters, attaching them, re-injecting data ({@code sflt_*}, {@code sock_inject_*}). */
public interface SocketFilterKpi {
    /** Data flags ({@code sock_data_filt_flag_oob}, {@code _record}). */
    int DATA_OOB = 1, DATA_RECORD = 2;

    /**
     * Registers a filter ({@code sflt_register}). A global filter attaches to sockets created from now on.
     * @throws KpiException EEXIST (handle taken), EINVAL (neither or both of GLOBAL and PROG; handle 0, which
     *         the inject calls reserve for "run every filter")
     */
    SocketFilterRef register(SocketFilterParams params, SocketFilter filter) throws KpiException;

    /**
     * Attaches the registered filter {@code handle} to {@code so} ({@code sflt_attach}); its {@code attach}
     * runs on this thread.
     * @return 0, ENOENT (no such filter), EEXIST (already attached), or the filter's attach error
     */
    int attach(Socket so, int handle);

    /**
     * Detaches filter {@code handle} from {@code so} ({@code sflt_detach}); its {@code detach} runs once the
     * calls inside the filter for this socket have returned.
     * @return 0 or ENOENT
     */
    int detach(Socket so, int handle);

    /**
     * Re-injects received data into {@code so} ({@code sock_inject_data_in}), after the filters that come
     * after {@code resumeAfter} (pass your own handle; 0 runs every filter).
     *
     * <p>Takes ownership only on success: on error the caller frees the data.
     * @return 0, ENOTCONN/EBADF (the socket is closed), ENOBUFS (its receive queue is full)
     */
    int injectDataIn(Socket so, int resumeAfter, SockAddr from, Mbuf data, Mbuf control, int flags);

    /**
     * Re-injects outgoing data ({@code sock_inject_data_out}), after the filters that come after
     * {@code resumeAfter}, then to the protocol. Always takes ownership.
     * @return 0, or the protocol's send error
     */
    int injectDataOut(Socket so, int resumeAfter, SockAddr to, Mbuf data, Mbuf control, int flags);
}
