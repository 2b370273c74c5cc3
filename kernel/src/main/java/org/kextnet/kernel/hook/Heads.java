package org.kextnet.kernel.hook;

import java.util.Objects;

import org.kextnet.kernel.sync.GracePeriod;

/**
 * What every hook point of one kernel shares: the grace periods after which a removed registration gets its
 * final callback, the fault policy (the verdict a packet gets from a filter that threw, and when a registration
 * is quarantined), the call budgets and the watchdog that enforces them, and where a thread gets its call slot.
 * The policy and the budgets may change at any time; heads read them when a call needs them.
 */
public final class Heads {
    private final GracePeriod grace;
    private final CallSlots slots;
    private final Watchdog watchdog;
    private volatile FaultPolicy policy = FaultPolicy.DEFAULT;

    public Heads(GracePeriod grace, CallSlots slots, Watchdog watchdog) {
        this.grace = Objects.requireNonNull(grace);
        this.slots = Objects.requireNonNull(slots);
        this.watchdog = Objects.requireNonNull(watchdog);
    }

    public GracePeriod grace() { return grace; }

    /** Where a thread without a packet context at hand gets its call slot. */
    public CallSlots slots() { return slots; }

    public Watchdog watchdog() { return watchdog; }

    public FaultPolicy policy() { return policy; }

    public void setPolicy(FaultPolicy p) { policy = Objects.requireNonNull(p); }

    /** How long a call into each kind of head may take. */
    public CallLimits limits() { return watchdog.limits(); }

    public void setLimits(CallLimits l) { watchdog.setLimits(l); }
}
