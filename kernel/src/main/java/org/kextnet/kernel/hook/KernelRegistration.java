package org.kextnet.kernel.hook;

import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kpi.Registration;

/**
 * The kernel's record of one registration an extension made: its owner, state and fault count. Each kind
 * (filter entry, control, plumber, ...) extends it and says how the kernel removes it on unload.
 */
public abstract class KernelRegistration implements Registration {
    private final Owner owner;
    private final String kind;
    private final String name;
    private final AtomicLong faults = new AtomicLong();
    private volatile State state = State.ACTIVE;

    protected KernelRegistration(Owner owner, String kind, String name) {
        this.owner = owner;
        this.kind = kind;
        this.name = name;
    }

    public Owner owner() { return owner; }
    @Override public String kind() { return kind; }
    @Override public String name() { return name; }
    @Override public State state() { return state; }
    @Override public long faults() { return faults.get(); }

    public boolean isActive() { return state == State.ACTIVE; }

    /** Moves ACTIVE to DETACHING; returns false if removal had already started. */
    protected final synchronized boolean beginDetach() {
        if (state != State.ACTIVE) return false;
        state = State.DETACHING;
        return true;
    }

    /** The final state, after the last callback ran: the owner forgets the registration. */
    protected final void finishDetach(Removal why) {
        state = why.endState();
        owner.forget(this);
    }

    /**
     * Counts a fault of one of this registration's callbacks and logs it (with its stack trace the first
     * time). Returns true when the fault limit is reached and the registration should be quarantined.
     */
    public final boolean countFault(String callback, Throwable t) {
        return owner.faulted(this, callback, t, faults.incrementAndGet());
    }

    /**
     * Removes the registration as its own remove call would (asynchronously where the KPI says so).
     * Called by unload for stragglers and by quarantine.
     * @param why a clean-up ({@link Removal#REQUESTED}) or a quarantine after repeated faults
     * @return false if the kernel cannot remove it now (a control with connected clients)
     */
    public abstract boolean removeByKernel(Removal why);

    /**
     * Removes the registration although its owner did not (a forced unload): as {@link #removeByKernel}, but
     * nothing may refuse, so a kind whose removal waits on others (a control's connected clients) ends those
     * first. Not counted as a fault.
     */
    public boolean forceRemove() {
        return removeByKernel(Removal.REQUESTED);
    }

    /** A line for status listings. */
    public String describe() {
        return kind + " " + name + " (" + state.name().toLowerCase() + (faults() > 0 ? ", " + faults() + " faults" : "") + ")";
    }

    @Override public String toString() { return describe(); }
}
