package org.kextnet.kpi.event;

/** Receives the events an {@link EventKpi#subscribe subscription} selects. */
@FunctionalInterface
public interface KernelEventListener {
    /**
     * One event, in id order per posting thread, called on the thread that posted it (possibly a packet
     * thread). Must not block. A listener that throws is contained and counted.
     */
    void event(KernelEvent event);
}
