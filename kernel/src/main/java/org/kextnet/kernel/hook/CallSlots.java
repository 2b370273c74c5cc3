package org.kextnet.kernel.hook;

/**
 * Where a thread gets the {@link CallSlot} it calls extensions through, for places that have no packet context
 * at hand (a final callback on the reclaim thread, a control's callback on its client's thread): the thread's own
 * if it holds one, else one leased for the call. Implemented by {@code net.Contexts}.
 */
public interface CallSlots {
    /** The calling thread's slot until the matching {@link #releaseSlot}; pair them in a finally block. */
    CallSlot acquireSlot();

    /** Ends an {@link #acquireSlot}. */
    void releaseSlot(CallSlot slot);

    /** The watchdog over the slots (it also keeps the registrations' counters). */
    Watchdog watchdog();
}
