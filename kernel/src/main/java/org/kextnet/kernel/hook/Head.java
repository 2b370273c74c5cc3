package org.kextnet.kernel.hook;

/**
 * The kinds of head through which the kernel calls extensions. Each kind has its own call budgets
 * ({@link CallLimits}): a packet head's callbacks run on a packet thread and must be short, a kernel control's
 * run on its client's thread. {@link #key} names the kind in status lines and in {@code sysctl kern.nke.KEY.*}.
 */
public enum Head {
    IP_FILTER("ipfilter", true),
    INTERFACE_FILTER("iff", true),
    SOCKET_FILTER("sflt", true),
    /** Protocol attachments, plumbers and protocol inputs ({@code kpi_protocol}). */
    PROTOCOL("proto", true),
    /** Protocols an extension adds to a domain ({@code net_add_proto}). */
    DOMAIN_PROTOCOL("protosw", true),
    /** The callbacks of an interface an extension created (output, demux, framer, ioctl, events). */
    INTERFACE("ifnet", true),
    KERNEL_CONTROL("kctl", false),
    CALLOUT("callout", false),
    EVENT_LISTENER("kev", false);

    private final String key;
    private final boolean packetPath;

    Head(String key, boolean packetPath) {
        this.key = key;
        this.packetPath = packetPath;
    }

    /** Its short name ("ipfilter", "kctl"). */
    public String key() { return key; }

    /**
     * Whether its callbacks run per packet: their time is sampled (after each thread's first
     * {@value CallSlot#EXACT_WALKS} walks, one call in about {@value CallSlot#SAMPLE_MEAN}, scaled), where every call
     * of the others is timed.
     */
    public boolean packetPath() { return packetPath; }

    /** The kind named {@code key}, or null. */
    public static Head byKey(String key) {
        for (Head h : values()) if (h.key.equals(key)) return h;
        return null;
    }
}
