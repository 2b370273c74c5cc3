package org.kextnet.kpi.net;

/** Interface families ({@code ifnet_family_t}), with xnu's numbers: how frames are built and demultiplexed. */
public enum IfnetFamily {
    ANY(0), LOOPBACK(1), ETHERNET(2), SLIP(3),
    /** Point-to-point raw IP packets with no link header (TUN devices, tunnels). */
    TUN(4),
    VLAN(5), PPP(6), PVC(7), DISC(8), MDECAP(9), GIF(10), FAITH(11), STF(12), FIREWIRE(13), BOND(14);

    private final int code;

    IfnetFamily(int code) { this.code = code; }

    /** xnu's {@code IFNET_FAMILY_*} value. */
    public int code() { return code; }
}
