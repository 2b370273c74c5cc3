package org.kextnet.kpi.control;

import java.util.Objects;

/**
 * A control's registration ({@code struct kern_ctl_reg} without the callbacks).
 *
 * @param name     unique, at most {@link #MAX_NAME} bytes, by convention the bundle id
 *                 ("com.example.nke.logger")
 * @param id       with {@link #FLAG_REG_ID_UNIT}, the fixed id; otherwise ignored (the kernel assigns one)
 * @param unit     with {@link #FLAG_REG_ID_UNIT}, the fixed unit; otherwise ignored
 * @param flags    {@link #FLAG_PRIVILEGED}, {@link #FLAG_REG_ID_UNIT}, {@link #FLAG_REG_SOCK_STREAM}
 * @param sendSize bytes a client may have queued towards the extension (0 = default)
 * @param recvSize bytes the extension may have queued towards one client before
 *                 {@link ControlKpi#enqueueData} returns ENOBUFS (0 = default)
 */
public record ControlParams(String name, int id, int unit, int flags, int sendSize, int recvSize) {
    /** Only privileged clients may connect ({@code CTL_FLAG_PRIVILEGED}). */
    public static final int FLAG_PRIVILEGED = 0x1;
    /** Use the fixed {@link #id} and {@link #unit} ({@code CTL_FLAG_REG_ID_UNIT}). */
    public static final int FLAG_REG_ID_UNIT = 0x2;
    /** Clients use stream semantics ({@code CTL_FLAG_REG_SOCK_STREAM}); the default is datagram. */
    public static final int FLAG_REG_SOCK_STREAM = 0x4;
    /** Longest name, in bytes ({@code MAX_KCTL_NAME}). */
    public static final int MAX_NAME = 96;
    /** Default send and receive sizes. */
    public static final int DEFAULT_SENDSIZE = 8192, DEFAULT_RECVSIZE = 8192;

    public ControlParams {
        Objects.requireNonNull(name, "name");
    }

    /** A datagram control with a dynamic id and default sizes. */
    public static ControlParams named(String name) { return new ControlParams(name, 0, 0, 0, 0, 0); }

    public ControlParams withFlags(int f) { return new ControlParams(name, id, unit, f, sendSize, recvSize); }

    public ControlParams withIdUnit(int newId, int newUnit) {
        return new ControlParams(name, newId, newUnit, flags | FLAG_REG_ID_UNIT, sendSize, recvSize);
    }

    public ControlParams withSizes(int send, int recv) { return new ControlParams(name, id, unit, flags, send, recv); }
}
