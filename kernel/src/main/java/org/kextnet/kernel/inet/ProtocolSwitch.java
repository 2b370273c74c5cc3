package org.kextnet.kernel.inet;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import org.kextnet.kernel.net.Layers.TransportProtocol;

/**
 * IPv4's protocol switch ({@code ip_protox}, gVisor's transport dispatcher): one entry per protocol number.
 * ICMP and UDP register at start, TCP too, and an extension's protocol when it adds one to the inet domain;
 * IPv4 input hands each datagram for this host to the entry of its protocol number, or answers protocol
 * unreachable. Reads take no lock: an entry is one volatile load.
 */
public final class ProtocolSwitch {
    private static final VarHandle ENTRY = MethodHandles.arrayElementVarHandle(TransportProtocol[].class);

    private final TransportProtocol[] byNumber = new TransportProtocol[256];

    /** The protocol registered for {@code number}, or null. */
    public TransportProtocol get(int number) {
        return (TransportProtocol) ENTRY.getVolatile(byNumber, number & 0xff);
    }

    /**
     * Registers {@code p} for protocol {@code number}.
     * @throws IllegalArgumentException if the number is out of range
     * @throws IllegalStateException if a protocol is registered for it
     */
    public synchronized void register(int number, TransportProtocol p) {
        if (number <= 0 || number > 255) throw new IllegalArgumentException("protocol number " + number);
        if (byNumber[number] != null) throw new IllegalStateException("protocol " + number + " is registered");
        ENTRY.setVolatile(byNumber, number, p);
    }

    /** Removes {@code p} from {@code number}; false if it was not registered there. */
    public synchronized boolean unregister(int number, TransportProtocol p) {
        if (number <= 0 || number > 255 || byNumber[number] != p) return false;
        ENTRY.setVolatile(byNumber, number, null);
        return true;
    }
}
