package org.kextnet.packetdrill;

import java.util.HashMap;
import java.util.Map;

/**
 * The socket types the shim can open, by Linux type and protocol: {@code socket(AF_INET, type, protocol)} finds
 * its adapter here. A protocol becomes scriptable with one {@link #register} line.
 */
final class SocketTypes {
    /** Opens a new, unbound socket of one type on the shim's kernel. */
    @FunctionalInterface
    interface Factory {
        ShimSocket open(ShimKernel kernel);
    }

    private record Key(int type, int protocol) {}

    private final Map<Key, Factory> factories = new HashMap<>();
    private final Map<Integer, Integer> defaults = new HashMap<>();

    /** The types kextnet has: TCP, UDP, and ICMP datagram sockets as far as {@link IcmpShimSocket} goes. */
    static SocketTypes standard() {
        SocketTypes t = new SocketTypes();
        t.register(Linux.SOCK_STREAM, Linux.IPPROTO_TCP, true, TcpShimSocket::new);
        t.register(Linux.SOCK_DGRAM, Linux.IPPROTO_UDP, true, UdpShimSocket::new);
        t.register(Linux.SOCK_DGRAM, Linux.IPPROTO_ICMP, false, IcmpShimSocket::new);
        return t;
    }

    /** Makes {@code type}/{@code protocol} openable; the default protocol of the type if {@code isDefault} (protocol 0). */
    void register(int type, int protocol, boolean isDefault, Factory factory) {
        factories.put(new Key(type, protocol), factory);
        if (isDefault) defaults.put(type, protocol);
    }

    /**
     * The factory for {@code type} (without SOCK_NONBLOCK and SOCK_CLOEXEC) and {@code protocol} (0: the type's
     * default), or null: the caller answers EPROTONOSUPPORT.
     */
    Factory find(int type, int protocol) {
        if (protocol == 0) {
            Integer p = defaults.get(type);
            if (p == null) return null;
            protocol = p;
        }
        return factories.get(new Key(type, protocol));
    }
}
