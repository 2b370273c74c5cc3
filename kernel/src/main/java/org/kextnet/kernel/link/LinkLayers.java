package org.kextnet.kernel.link;

import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Layers.LinkLayer;

/** The kernel's link layer for each built-in interface family. */
public final class LinkLayers {
    private LinkLayers() {}

    public static LinkLayer of(IfFamily family) {
        return switch (family) {
            case ETHERNET -> EthernetLink.INSTANCE;
            case TUN, LOOPBACK -> RawIpLink.INSTANCE;
        };
    }
}
