package org.kextnet.kernel.link.loopback;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.link.RxRing;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.PacketContext;

/**
 * The loopback device: what is sent is received again on the same interface, through a ring and a reader
 * thread so that a reply never recurses into the sender's stack frame.
 */
public final class LoopbackDriver implements Driver {
    @Override public boolean trusted() { return true; }

    private final RxRing ring = new RxRing(4096, 0);

    @Override public boolean transmit(PacketContext ctx, Packet m) {
        if (ring.offer(m)) return true;
        m.free();
        return false;
    }

    @Override public void start(Interface ifp) {
        ring.start("kextnet-" + ifp.table().kernelName() + "-" + ifp.name(), ifp);
    }

    @Override public void stop() { ring.stop(); }

    @Override public String describe() { return "loopback"; }
}
