package org.kextnet.kernel.net;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.ProtocolFamily;

/**
 * The protocols attached to one interface, immutable, arranged for demux: by EtherType for Ethernet frames,
 * by IP version for raw IP links, and by family. An interface publishes a new table with one volatile write
 * when a protocol attaches or detaches; {@link #inet} is the IPv4 attachment, looked up once per packet on
 * output.
 */
public final class DemuxTable {
    public static final DemuxTable EMPTY = new DemuxTable(new ProtocolAttachment[0]);

    private final ProtocolAttachment[] all;
    private final int[] etypes;
    private final ProtocolAttachment[] etypeOwners;
    private final ProtocolAttachment[] byVersion = new ProtocolAttachment[16];
    /** The PF_INET attachment, or null: IPv4 is not plumbed on the interface. */
    public final ProtocolAttachment inet;

    private DemuxTable(ProtocolAttachment[] all) {
        this.all = all;
        List<Integer> types = new ArrayList<>();
        List<ProtocolAttachment> owners = new ArrayList<>();
        ProtocolAttachment in = null;
        for (ProtocolAttachment a : all) {
            if (a.protocolFamily() == ProtocolFamily.PF_INET) in = a;
            for (DemuxDescriptor d : a.demux()) {
                byte[] v = d.data();
                if (d.type() == DemuxDescriptor.DESC_ETYPE2 && v.length == 2) {
                    types.add(((v[0] & 0xff) << 8) | (v[1] & 0xff));
                    owners.add(a);
                } else if (d.type() == DemuxDescriptor.DESC_IP_VERSION && v.length == 1 && v[0] >= 0 && v[0] < 16) {
                    byVersion[v[0]] = a;
                }
            }
        }
        this.etypes = types.stream().mapToInt(Integer::intValue).toArray();
        this.etypeOwners = owners.toArray(ProtocolAttachment[]::new);
        this.inet = in;
    }

    /** The attachment that claims EtherType {@code type}, or null. */
    public ProtocolAttachment byEtherType(int type) {
        int[] t = etypes;
        for (int i = 0; i < t.length; i++) if (t[i] == type) return etypeOwners[i];
        return null;
    }

    /** The attachment that claims IP version {@code version} on a raw IP link, or null. */
    public ProtocolAttachment byIpVersion(int version) { return byVersion[version & 15]; }

    /** The attachment of family {@code pf}, or null. */
    public ProtocolAttachment byFamily(int pf) {
        for (ProtocolAttachment a : all) if (a.protocolFamily() == pf) return a;
        return null;
    }

    /** Every attachment, in attachment order. */
    public List<ProtocolAttachment> all() { return List.of(all); }

    /** Whether a descriptor of {@code a} is already claimed by another attachment. */
    public boolean conflicts(List<DemuxDescriptor> descs) {
        for (ProtocolAttachment x : all) for (DemuxDescriptor d : x.demux()) if (descs.contains(d)) return true;
        return false;
    }

    public DemuxTable with(ProtocolAttachment a) {
        ProtocolAttachment[] n = Arrays.copyOf(all, all.length + 1);
        n[all.length] = a;
        return new DemuxTable(n);
    }

    public DemuxTable without(ProtocolAttachment a) {
        return new DemuxTable(Arrays.stream(all).filter(x -> x != a).toArray(ProtocolAttachment[]::new));
    }
}
