package org.kextnet.kernel.hook;

/**
 * What the kernel does when extension code throws: the verdict a packet gets from a filter that threw, and
 * after how many faults a registration is removed and marked faulted.
 *
 * @param faultLimit     faults after which a registration is quarantined (removed, state FAULTED)
 * @param ipFailPass     true to let a packet continue when an IP filter throws (default: drop)
 * @param ifaceFailPass  true to let a frame continue when an interface filter throws (default: drop)
 */
public record FaultPolicy(int faultLimit, boolean ipFailPass, boolean ifaceFailPass) {
    public static final FaultPolicy DEFAULT = new FaultPolicy(5, false, false);

    public FaultPolicy {
        if (faultLimit < 1) throw new IllegalArgumentException("fault limit " + faultLimit);
    }
}
