package org.kextnet.kernel.socket;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.socket.SockOpt;

/** A setsockopt or getsockopt call as socket filters see it ({@code sockopt_t}). */
final class SockOptCall implements SockOpt {
    private final int direction, level, name;
    private byte[] value;

    SockOptCall(int direction, int level, int name, byte[] value) {
        this.direction = direction;
        this.level = level;
        this.name = name;
        this.value = value;
    }

    @Override public int direction() { return direction; }
    @Override public int level() { return level; }
    @Override public int name() { return name; }
    @Override public int valueSize() { return value == null ? 0 : value.length; }

    @Override public int copyIn(byte[] dst) {
        if (direction != SET) return -Errno.EINVAL;
        int n = Math.min(dst.length, value.length);
        System.arraycopy(value, 0, dst, 0, n);
        return n;
    }

    @Override public int copyOut(byte[] src) {
        if (direction != GET) return Errno.EINVAL;
        value = src.clone();
        return 0;
    }

    /** The value after the filters ran (a get's result a filter may have replaced). */
    byte[] value() { return value; }
}
