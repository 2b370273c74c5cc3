package org.kextnet.kpi.socket;

/**
 * A socket option call being filtered ({@code sockopt_t}); valid only during the callback.
 */
public interface SockOpt {
    /** {@link #GET} or {@link #SET} ({@code sockopt_direction}). */
    int direction();

    int GET = 0, SET = 1;

    /** The option level ({@link SocketConstants#SOL_SOCKET}, an IPPROTO_*) ({@code sockopt_level}). */
    int level();

    /** The option name ({@code sockopt_name}). */
    int name();

    /** The size of the value ({@code sockopt_valsize}). */
    int valueSize();

    /**
     * Copies the value being set into {@code dst} ({@code sockopt_copyin}).
     * @return bytes copied, or -EINVAL for a get
     */
    int copyIn(byte[] dst);

    /**
     * Replaces the value being returned by a get ({@code sockopt_copyout}).
     * @return 0, or EINVAL for a set
     */
    int copyOut(byte[] src);
}
