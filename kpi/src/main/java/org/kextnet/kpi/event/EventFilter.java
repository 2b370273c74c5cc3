package org.kextnet.kpi.event;

/**
 * Which events a subscriber wants ({@code kev_request}): 0 in a field is a wildcard
 * ({@code KEV_ANY_VENDOR}, {@code KEV_ANY_CLASS}, {@code KEV_ANY_SUBCLASS}). A class or subclass is only
 * compared when every field before it is not a wildcard, as xnu does.
 */
public record EventFilter(int vendorCode, int eventClass, int subclass) {
    /** Every event. */
    public static final EventFilter ANY = new EventFilter(KernelEvents.KEV_ANY_VENDOR, KernelEvents.KEV_ANY_CLASS,
            KernelEvents.KEV_ANY_SUBCLASS);

    public boolean matches(KernelEvent e) {
        if (vendorCode == KernelEvents.KEV_ANY_VENDOR) return true;
        if (vendorCode != e.vendorCode()) return false;
        if (eventClass == KernelEvents.KEV_ANY_CLASS) return true;
        if (eventClass != e.eventClass()) return false;
        return subclass == KernelEvents.KEV_ANY_SUBCLASS || subclass == e.subclass();
    }
}
