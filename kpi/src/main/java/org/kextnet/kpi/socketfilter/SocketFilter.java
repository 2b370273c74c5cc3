package org.kextnet.kpi.socketfilter;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SockOpt;
import org.kextnet.kpi.socket.Socket;

/**
 * A socket filter's callbacks ({@code struct sflt_filter}). Every callback is optional. Unless a callback
 * says otherwise, its result works this way:
 * <table><caption>results</caption>
 * <tr><td>0</td><td>continue: the next filter, then the protocol</td></tr>
 * <tr><td>{@link Errno#EJUSTRETURN}</td><td>stop calling filters; the call returns 0 to the application and
 *   the protocol never sees it (for data: the filter now owns it)</td></tr>
 * <tr><td>another errno</td><td>stop; the application's call fails with it (data is freed)</td></tr>
 * </table>
 *
 * <p>A callback that throws is contained: it counts as returning {@link Errno#EIO} for calls that can fail
 * (the data is dropped), is ignored for notifications, and the filter is unregistered after repeated faults.
 */
public interface SocketFilter {
    /**
     * The last call for the filter ({@code sf_unregistered}), once, after
     * {@link SocketFilterRef#unregister}, after every attachment detached and every call returned.
     */
    default void unregistered(int handle) {}

    /**
     * Attach to a new socket ({@code sf_attach}): a global filter for every new matching socket, a
     * programmatic one on {@code SO_NKE}. Set the cookie here. Runs on the thread creating the socket.
     * @return 0 to attach; an errno and the filter is not attached to this socket
     */
    default int attach(SocketAttachment a) { return 0; }

    /**
     * Detach from a socket ({@code sf_detach}): the socket closes, or the filter is detached from it or
     * unregistered. The last call for this attachment; free the cookie's resources.
     */
    default void detach(SocketAttachment a) {}

    /**
     * Something happened to the socket ({@code sf_notify}); observe only.
     * @param event a {@link SocketEvent} code
     * @param param for {@link SocketEvent#SHUTDOWN}, the direction ({@code SHUT_RD}...); else 0
     */
    default void notify(SocketAttachment a, int event, int param) {}

    /** Before getpeername returns ({@code sf_getpeername}); may modify {@code address}. */
    default int getPeerName(SocketAttachment a, SockAddr address) { return 0; }

    /** Before getsockname returns ({@code sf_getsockname}); may modify {@code address}. */
    default int getSockName(SocketAttachment a, SockAddr address) { return 0; }

    /**
     * Received data, before it is queued to the socket ({@code sf_data_in}); on the receiving packet thread.
     * Does not take ownership unless it returns EJUSTRETURN: then the filter owns {@code data} (and
     * {@code control}) and re-injects it with {@link SocketFilterKpi#injectDataIn}; to keep order, once it
     * holds data it must hold everything after it too. Must not block.
     *
     * @param from  the sender; valid only during the call
     * @param data  the payload (only the payload: protocol headers are stripped)
     * @param control ancillary data, or null
     * @param flags {@link SocketFilterKpi#DATA_OOB}, {@link SocketFilterKpi#DATA_RECORD}
     */
    default int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) { return 0; }

    /**
     * Data the application sends, before the protocol sees it ({@code sf_data_out}); on the application's
     * thread. Ownership as for {@link #dataIn}; re-inject with {@link SocketFilterKpi#injectDataOut}.
     *
     * @param to the destination given to send, or null for a connected socket's peer
     */
    default int dataOut(SocketAttachment a, SockAddr to, Mbuf data, Mbuf control, int flags) { return 0; }

    /** Before an incoming connection is accepted ({@code sf_connect_in}); non-zero rejects it. */
    default int connectIn(SocketAttachment a, SockAddr from) { return 0; }

    /** Before an outgoing connect ({@code sf_connect_out}); non-zero rejects it. */
    default int connectOut(SocketAttachment a, SockAddr to) { return 0; }

    /** Before bind ({@code sf_bind}); non-zero rejects it. */
    default int bind(SocketAttachment a, SockAddr to) { return 0; }

    /** Before setsockopt ({@code sf_setoption}); EJUSTRETURN: handled, the call succeeds. */
    default int setOption(SocketAttachment a, SockOpt option) { return 0; }

    /** Before getsockopt ({@code sf_getoption}); EJUSTRETURN: handled (use {@link SockOpt#copyOut}). */
    default int getOption(SocketAttachment a, SockOpt option) { return 0; }

    /** Before listen ({@code sf_listen}); non-zero fails it. */
    default int listen(SocketAttachment a) { return 0; }

    /** Before an ioctl ({@code sf_ioctl}); non-zero fails it. */
    default int ioctl(SocketAttachment a, long request, Object argument) { return 0; }

    /**
     * A connection is being accepted ({@code sf_accept}, extended filters only): {@code newSocket} is the
     * accepted socket, already with this filter attached. Non-zero rejects the connection.
     */
    default int accept(SocketAttachment a, Socket newSocket, SockAddr local, SockAddr remote) { return 0; }
}
