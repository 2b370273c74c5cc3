package org.kextnet.kpi.socketfilter;

import java.util.Objects;

/**
 * A socket filter's registration ({@code struct sflt_filter} without the callbacks, plus the arguments of
 * {@code sflt_register}).
 *
 * @param handle   a unique 4-byte id, also the value of {@code SO_NKE}
 * @param flags    {@link #FLAG_GLOBAL} or {@link #FLAG_PROG}, optionally {@link #FLAG_EXTENDED}
 * @param name     for status listings
 * @param domain   the socket domain ({@code PF_INET})
 * @param type     the socket type ({@code SOCK_DGRAM})
 * @param protocol the protocol ({@code IPPROTO_UDP})
 */
public record SocketFilterParams(int handle, int flags, String name, int domain, int type, int protocol) {
    /** Attach to every new socket of the (domain, type, protocol) ({@code SFLT_GLOBAL}). */
    public static final int FLAG_GLOBAL = 0x01;
    /** Attach only when the application sets {@code SO_NKE} with the handle ({@code SFLT_PROG}). */
    public static final int FLAG_PROG = 0x02;
    /** The filter implements the extended callbacks ({@code accept}) ({@code SFLT_EXTENDED}). */
    public static final int FLAG_EXTENDED = 0x04;

    public SocketFilterParams {
        Objects.requireNonNull(name, "name");
    }
}
