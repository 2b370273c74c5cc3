package org.kextnet.kernel.socket;

import org.kextnet.kpi.socket.SockOpt;

/** Runs socket options through the socket filters ({@code sflt_setsockopt}, {@code sflt_getsockopt}). */
public final class SocketOptions {
    private SocketOptions() {}

    /** What a get produced: the filters' result and the value (possibly replaced by a filter). */
    public record Result(int errno, byte[] value) {}

    /** Runs a set through the filters: 0 continue to the protocol, EJUSTRETURN handled, else the error. */
    public static int set(SocketFilterSet filters, int level, int name, byte[] value) {
        if (filters.isEmpty()) return 0;
        return filters.option(new SockOptCall(SockOpt.SET, level, name, value.clone()));
    }

    /** Runs a get through the filters with the protocol's own value (or null). */
    public static Result get(SocketFilterSet filters, int level, int name, byte[] own) {
        if (filters.isEmpty()) return new Result(0, own);
        SockOptCall call = new SockOptCall(SockOpt.GET, level, name, own);
        int r = filters.option(call);
        return new Result(r, call.value());
    }
}
