package org.kextnet.kernel.hook;

import java.util.Objects;

import org.kextnet.kernel.sync.GracePeriod;

/**
 * What every hook point of one kernel shares: the grace periods after which a removed registration gets its
 * final callback, and the fault policy (the verdict a packet gets from a filter that threw, and when a
 * registration is quarantined). The policy may change at any time; heads read it when a fault happens.
 */
public final class Heads {
    private final GracePeriod grace;
    private volatile FaultPolicy policy = FaultPolicy.DEFAULT;

    public Heads(GracePeriod grace) {
        this.grace = Objects.requireNonNull(grace);
    }

    public GracePeriod grace() { return grace; }

    public FaultPolicy policy() { return policy; }

    public void setPolicy(FaultPolicy p) { policy = Objects.requireNonNull(p); }
}
