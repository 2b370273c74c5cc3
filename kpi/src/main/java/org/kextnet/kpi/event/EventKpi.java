package org.kextnet.kpi.event;

import org.kextnet.kpi.Registration;

/** Posting and receiving kernel events ({@code kev_msg_post}, {@code kev_vendor_code_find}). */
public interface EventKpi {
    /** A live subscription; a {@link Registration} recorded against the extension. */
    interface Subscription extends Registration {
        /** Ends the subscription; the listener is not called after this returns (except by a post already under way). */
        void cancel();
    }

    /**
     * The vendor code for a vendor string such as {@code "com.example"} ({@code kev_vendor_code_find}): the
     * same string gives the same code while the kernel runs. Never {@link KernelEvents#KEV_VENDOR_KEXTNET}.
     */
    int vendorCodeFind(String vendor);

    /**
     * Posts an event ({@code kev_msg_post}): it gets the next id and reaches every matching subscriber before
     * this returns.
     * @return 0, {@link org.kextnet.kpi.Errno#EINVAL} for the kernel's own vendor code or a zero vendor or
     *         class, {@link org.kextnet.kpi.Errno#EMSGSIZE} if the payload exceeds
     *         {@link KernelEvents#MAX_DATA}
     */
    int post(int vendorCode, int eventClass, int subclass, int code, byte[] data);

    /** Subscribes {@code listener} to the events {@code filter} selects. */
    Subscription subscribe(EventFilter filter, KernelEventListener listener);

    /** The id the last posted event got ({@code SIOCGKEVID}). */
    long currentId();
}
