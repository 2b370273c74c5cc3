package org.kextnet.kpi.event;

/**
 * Event vendors, classes, subclasses and codes ({@code kern_event.h}, {@code net/if.h} KEV_DL_*).
 * kextnet posts its own events under {@link #KEV_VENDOR_KEXTNET}, which plays Apple's role
 * ({@code KEV_VENDOR_APPLE} = 1).
 */
public final class KernelEvents {
    private KernelEvents() {}

    public static final int KEV_ANY_VENDOR = 0, KEV_ANY_CLASS = 0, KEV_ANY_SUBCLASS = 0;
    /** The kernel's own vendor code (Apple's in xnu). Extensions cannot post with it. */
    public static final int KEV_VENDOR_KEXTNET = 1;
    /** Largest payload of one event, in bytes. */
    public static final int MAX_DATA = 4096 - 24;

    /** Classes. */
    public static final int KEV_NETWORK_CLASS = 1, KEV_IOKIT_CLASS = 2, KEV_SYSTEM_CLASS = 3;

    /** Network subclasses. */
    public static final int KEV_INET_SUBCLASS = 1, KEV_DL_SUBCLASS = 2;

    /** Data-link events (subclass {@link #KEV_DL_SUBCLASS}); payload: {@link NetEventData}. */
    public static final int KEV_DL_SIFFLAGS = 1, KEV_DL_SIFMETRICS = 2, KEV_DL_SIFMTU = 3, KEV_DL_SIFPHYS = 4,
            KEV_DL_SIFMEDIA = 5, KEV_DL_SIFGENERIC = 6, KEV_DL_ADDMULTI = 7, KEV_DL_DELMULTI = 8,
            KEV_DL_IF_ATTACHED = 9, KEV_DL_IF_DETACHING = 10, KEV_DL_IF_DETACHED = 11, KEV_DL_LINK_OFF = 12,
            KEV_DL_LINK_ON = 13, KEV_DL_PROTO_ATTACHED = 14, KEV_DL_PROTO_DETACHED = 15,
            KEV_DL_LINK_ADDRESS_CHANGED = 16, KEV_DL_WAKEFLAGS_CHANGED = 17;

    /** Internet events (subclass {@link #KEV_INET_SUBCLASS}); payload: {@link NetEventData} then the 4-byte address. */
    public static final int KEV_INET_NEW_ADDR = 1, KEV_INET_CHANGED_ADDR = 2, KEV_INET_ADDR_DELETED = 3;

    /** System subclasses: kernel control ({@code KEV_CTL_SUBCLASS}) and power (kextnet-specific). */
    public static final int KEV_CTL_SUBCLASS = 2, KEV_POWER_SUBCLASS = 10;

    /** Kernel-control events; payload: the 4-byte control id then the 4-byte unit. */
    public static final int KEV_CTL_REGISTERED = 1, KEV_CTL_DEREGISTERED = 2;

    /**
     * Power events (class {@link #KEV_SYSTEM_CLASS}, subclass {@link #KEV_POWER_SUBCLASS}; kextnet's codes,
     * the 10.4 values were not published). Sleep is posted before the kernel stops its interfaces' traffic,
     * wake after it resumes it. No payload.
     */
    public static final int KEV_POWER_SLEEP = 1, KEV_POWER_WAKE = 2;

    /** A readable name for the event's code ("KEV_DL_LINK_ON"), or the number. */
    public static String codeName(KernelEvent e) {
        if (e.vendorCode() == KEV_VENDOR_KEXTNET && e.eventClass() == KEV_NETWORK_CLASS && e.subclass() == KEV_DL_SUBCLASS) {
            return switch (e.code()) {
                case KEV_DL_SIFFLAGS -> "KEV_DL_SIFFLAGS"; case KEV_DL_SIFMETRICS -> "KEV_DL_SIFMETRICS";
                case KEV_DL_SIFMTU -> "KEV_DL_SIFMTU"; case KEV_DL_SIFPHYS -> "KEV_DL_SIFPHYS";
                case KEV_DL_SIFMEDIA -> "KEV_DL_SIFMEDIA"; case KEV_DL_SIFGENERIC -> "KEV_DL_SIFGENERIC";
                case KEV_DL_ADDMULTI -> "KEV_DL_ADDMULTI"; case KEV_DL_DELMULTI -> "KEV_DL_DELMULTI";
                case KEV_DL_IF_ATTACHED -> "KEV_DL_IF_ATTACHED"; case KEV_DL_IF_DETACHING -> "KEV_DL_IF_DETACHING";
                case KEV_DL_IF_DETACHED -> "KEV_DL_IF_DETACHED"; case KEV_DL_LINK_OFF -> "KEV_DL_LINK_OFF";
                case KEV_DL_LINK_ON -> "KEV_DL_LINK_ON"; case KEV_DL_PROTO_ATTACHED -> "KEV_DL_PROTO_ATTACHED";
                case KEV_DL_PROTO_DETACHED -> "KEV_DL_PROTO_DETACHED";
                case KEV_DL_LINK_ADDRESS_CHANGED -> "KEV_DL_LINK_ADDRESS_CHANGED";
                case KEV_DL_WAKEFLAGS_CHANGED -> "KEV_DL_WAKEFLAGS_CHANGED";
                default -> Integer.toString(e.code());
            };
        }
        if (e.vendorCode() == KEV_VENDOR_KEXTNET && e.eventClass() == KEV_NETWORK_CLASS && e.subclass() == KEV_INET_SUBCLASS) {
            return switch (e.code()) {
                case KEV_INET_NEW_ADDR -> "KEV_INET_NEW_ADDR"; case KEV_INET_CHANGED_ADDR -> "KEV_INET_CHANGED_ADDR";
                case KEV_INET_ADDR_DELETED -> "KEV_INET_ADDR_DELETED";
                default -> Integer.toString(e.code());
            };
        }
        if (e.vendorCode() == KEV_VENDOR_KEXTNET && e.eventClass() == KEV_SYSTEM_CLASS) {
            if (e.subclass() == KEV_CTL_SUBCLASS) return e.code() == KEV_CTL_REGISTERED ? "KEV_CTL_REGISTERED"
                    : e.code() == KEV_CTL_DEREGISTERED ? "KEV_CTL_DEREGISTERED" : Integer.toString(e.code());
            if (e.subclass() == KEV_POWER_SUBCLASS) return e.code() == KEV_POWER_SLEEP ? "KEV_POWER_SLEEP"
                    : e.code() == KEV_POWER_WAKE ? "KEV_POWER_WAKE" : Integer.toString(e.code());
        }
        return Integer.toString(e.code());
    }
}
