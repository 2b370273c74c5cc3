package org.kextnet.kpi.socketfilter;

import org.kextnet.kpi.Registration;

/** A registered socket filter. */
public interface SocketFilterRef extends Registration {
    /** The handle. */
    int handle();

    SocketFilterParams params();

    /** Sockets the filter is attached to now. */
    int attachmentCount();

    /**
     * Unregisters the filter ({@code sflt_unregister}): it attaches to no new socket. Existing attachments
     * stay until their sockets close or are detached; then {@link SocketFilter#unregistered} runs once.
     * Idempotent; returns at once.
     */
    void unregister();

    /**
     * Unregisters and detaches the filter from every socket now (each {@code detach} runs), then
     * {@code unregistered}, as for {@link #unregister}. Used by unload.
     */
    void unregisterAndDetachAll();
}
