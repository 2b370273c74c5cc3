package org.kextnet.kpi.net;

import java.util.Arrays;

/**
 * Which frames belong to a protocol attached to an interface ({@code ifnet_demux_desc}). The interface's
 * demux matches incoming frames against the descriptors of every attached protocol.
 *
 * @param type one of the {@code DESC_*} constants
 * @param data the value to match, in wire order (two bytes for an EtherType, one for an IP version)
 */
public record DemuxDescriptor(int type, byte[] data) {
    /** Ethernet II: {@code data} is the 2-byte EtherType ({@code DLIL_DESC_ETYPE2}). */
    public static final int DESC_ETYPE2 = 4;
    /** 802.2 LLC: {@code data} is the 3-byte DSAP, SSAP and control ({@code DLIL_DESC_SAP}). */
    public static final int DESC_SAP = 5;
    /** 802.2 SNAP: {@code data} is the 5-byte OUI and type ({@code DLIL_DESC_SNAP}). */
    public static final int DESC_SNAP = 6;
    /** Raw IP links (TUN): {@code data} is one byte, the IP version nibble (4 or 6). kextnet-specific. */
    public static final int DESC_IP_VERSION = 100;

    public DemuxDescriptor {
        data = data.clone();
    }

    /** An Ethernet II descriptor for {@code etherType}. */
    public static DemuxDescriptor etherType(int etherType) {
        return new DemuxDescriptor(DESC_ETYPE2, new byte[] {(byte) (etherType >>> 8), (byte) etherType});
    }

    /** A raw IP descriptor for IP version {@code version}. */
    public static DemuxDescriptor ipVersion(int version) {
        return new DemuxDescriptor(DESC_IP_VERSION, new byte[] {(byte) version});
    }

    @Override public byte[] data() { return data.clone(); }

    @Override public boolean equals(Object o) {
        return o instanceof DemuxDescriptor d && d.type == type && Arrays.equals(d.data, data);
    }

    @Override public int hashCode() { return type * 31 + Arrays.hashCode(data); }

    @Override public String toString() {
        StringBuilder b = new StringBuilder(switch (type) {
            case DESC_ETYPE2 -> "etype2:";
            case DESC_SAP -> "sap:";
            case DESC_SNAP -> "snap:";
            case DESC_IP_VERSION -> "ipv";
            default -> type + ":";
        });
        for (byte x : data) b.append(String.format("%02x", x));
        return b.toString();
    }
}
