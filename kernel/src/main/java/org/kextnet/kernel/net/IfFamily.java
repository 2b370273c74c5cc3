package org.kextnet.kernel.net;

/** Interface families (xnu's {@code ifnet_family_t}): how frames are built and demultiplexed. */
public enum IfFamily {
    /** Loopback: packets sent are received again; no link header. */
    LOOPBACK,
    /** Ethernet II framing with ARP (TAP devices and memory wires). */
    ETHERNET,
    /** Point-to-point, raw IP packets with no link header (TUN devices). */
    TUN
}
