package org.kextnet.kpi.control;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * A kernel control's callbacks ({@code ctl_connect} and the others of {@code struct kern_ctl_reg}).
 * {@link #connect} is required; the rest are optional. Per-connection state lives in the
 * {@link ControlConnection} object every callback receives ({@code unitinfo}).
 *
 * <p>Callbacks run on the client's thread, never under a kernel lock. A callback that throws is contained:
 * the client's call fails with {@link Errno#EIO} and the fault is counted.
 */
public interface KernelControl {
    /**
     * A client connects ({@code ctl_connect}). Store per-connection state with
     * {@link ControlConnection#setUnitInfo}.
     * @return 0 to accept, an errno to refuse (the client's connect fails with it)
     */
    int connect(ControlConnection connection);

    /**
     * The client disconnected or was disconnected ({@code ctl_disconnect}); the last call for this
     * connection. The extension may deregister the control from here if this was the last client.
     * Optional; default: nothing.
     */
    default void disconnect(ControlConnection connection) {}

    /**
     * Data the client sent ({@code ctl_send}). Takes ownership of {@code m} (free it when done).
     * Optional; default: frees the data and returns 0.
     *
     * @param flags the client's send flags
     * @return 0, or an errno the client's send returns
     */
    default int send(ControlConnection connection, Mbuf m, int flags) {
        m.free();
        return 0;
    }

    /**
     * The client sets option {@code option} ({@code ctl_setopt}); {@code data} was copied in already.
     * Optional; default: {@link Errno#ENOPROTOOPT}.
     * @return 0, or an errno the client's setsockopt returns
     */
    default int setOption(ControlConnection connection, int option, byte[] data) { return Errno.ENOPROTOOPT; }

    /**
     * The client gets option {@code option} ({@code ctl_getopt}). Write up to {@code buffer.length} bytes
     * into {@code buffer} and return how many; a null buffer asks only for the size needed.
     * Optional; default: {@code -ENOPROTOOPT}.
     * @return the number of bytes written (or needed), or a negative errno
     */
    default int getOption(ControlConnection connection, int option, byte[] buffer) { return -Errno.ENOPROTOOPT; }

    /**
     * The client read data, making room in its receive queue ({@code ctl_rcvd}): an extension blocked on
     * ENOBUFS may enqueue again. Optional; default: nothing.
     */
    default void received(ControlConnection connection, int flags) {}
}
