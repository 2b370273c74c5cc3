package org.kextnet.testkit;

/**
 * What an {@link EmbeddedKernel} does when extension code throws: the verdict a packet gets from a filter that
 * threw, and after how many faults a registration is removed and marked faulted (state {@code FAULTED}).
 *
 * @param faultLimit    faults after which a registration is quarantined (at least 1)
 * @param ipFailPass    true to let a packet continue when an IP filter throws (the default drops it)
 * @param ifaceFailPass true to let a frame continue when an interface filter throws (the default drops it)
 */
public record FaultPolicy(int faultLimit, boolean ipFailPass, boolean ifaceFailPass) {
    /** The kernel's default: five faults, and a packet a filter threw on is dropped. */
    public static final FaultPolicy DEFAULT = new FaultPolicy(5, false, false);

    public FaultPolicy {
        if (faultLimit < 1) throw new IllegalArgumentException("fault limit " + faultLimit);
    }
}
