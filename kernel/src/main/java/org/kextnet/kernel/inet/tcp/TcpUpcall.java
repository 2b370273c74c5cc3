package org.kextnet.kernel.inet.tcp;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kpi.Errno;

/**
 * What a connection tells the layer above it (the socket layer, its socket filters, a selector, or a test):
 * the upcall of BSD's {@code so_upcall} and the places xnu calls {@code sflt_notify} and {@code sflt_data_in}.
 *
 * <p>Calls come with no TCP lock held, on whichever thread did the work (the packet thread, the timer thread,
 * or the application thread whose call caused them), one at a time per connection and in order: the
 * callee may call back into the connection ({@code read}, {@code write}, {@code close}) and see its own
 * changes. The callee must not block.
 */
public interface TcpUpcall {
    /** Event bits of {@link #events}, delivered in this order when several happen together. */
    int CONNECTING = 1,
            /** The handshake completed (xnu's soisconnected). */
            CONNECTED = 1 << 1,
            /** Data became readable, or more of it did. */
            READABLE = 1 << 2,
            /** An urgent pointer arrived (SIGURG); {@link TcpConnection#atUrgentMark()} and the out-of-band byte tell more. */
            URGENT = 1 << 3,
            /** The peer's FIN arrived in order: reads drain what is left, then see end of stream (socantrcvmore). */
            CANT_RECV_MORE = 1 << 4,
            /** Space opened in the send buffer. */
            WRITABLE = 1 << 5,
            /** The user closed; the connection is shutting down (soisdisconnecting). */
            DISCONNECTING = 1 << 6,
            /** The connection is no longer connected: TIME-WAIT or CLOSED, after a close, a reset or a timeout (soisdisconnected). */
            DISCONNECTED = 1 << 7,
            /** An error is pending ({@link TcpConnection#error()}): refused, reset, timed out, unreachable. */
            ERROR = 1 << 8,
            /** The connection left the stack (CLOSED, its resources freed): a lingering close may return. */
            RELEASED = 1 << 9;

    /** Something happened; {@code events} is a set of the bits above. */
    void events(TcpConnection c, int events);

    /**
     * In-order data arrived, before it reaches the receive buffer ({@code sf_data_in}); called only while
     * {@link TcpConnection#setDataInterception data interception} is on. Returns 0 to let it in: the
     * connection appends it and keeps ownership. {@link Errno#EJUSTRETURN}: the callee owns {@code data} now
     * and may re-inject it later with {@link TcpConnection#appendReceived} (order is the callee's to keep:
     * once it holds data it holds what follows too). Any other errno: the data is dropped and freed.
     *
     * @param flags 0: the urgent byte taken out of band is not passed here but read with
     *              {@link TcpConnection#readOutOfBand} (xnu's {@code sock_data_filt_flag_oob} has no caller yet)
     */
    default int dataIn(TcpConnection c, Packet data, int flags) { return 0; }

    /** The names of the bits set in {@code events}, for logs and tests. */
    static String describe(int events) {
        String[] names = {"connecting", "connected", "readable", "urgent", "cantrecvmore", "writable", "disconnecting",
                "disconnected", "error", "released"};
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            if ((events & 1 << i) != 0) b.append(b.isEmpty() ? "" : ",").append(names[i]);
        }
        return b.toString();
    }
}
