package org.kextnet.kpi.event;

import java.util.Arrays;

/**
 * One kernel event ({@code kern_event_msg}).
 *
 * @param id         monotonic, assigned by the kernel when the event is posted (0 before)
 * @param vendorCode {@link KernelEvents#KEV_VENDOR_KEXTNET} for the kernel's own, else from
 *                   {@link EventKpi#vendorCodeFind}
 * @param eventClass the class ({@code KEV_NETWORK_CLASS}, ...)
 * @param subclass   the subclass ({@code KEV_DL_SUBCLASS}, ...)
 * @param code       the event code ({@code KEV_DL_LINK_ON}, ...)
 * @param data       the payload (for data-link events a {@link NetEventData}); never null
 */
public record KernelEvent(long id, int vendorCode, int eventClass, int subclass, int code, byte[] data) {
    public KernelEvent {
        data = data == null ? new byte[0] : data.clone();
    }

    /** An event to post (its id is assigned by the kernel). */
    public static KernelEvent of(int vendorCode, int eventClass, int subclass, int code, byte[] data) {
        return new KernelEvent(0, vendorCode, eventClass, subclass, code, data);
    }

    /** A copy of the payload. */
    @Override public byte[] data() { return data.clone(); }

    /** The payload length. */
    public int dataLength() { return data.length; }

    /** This event with {@code id} set. */
    public KernelEvent withId(long newId) { return new KernelEvent(newId, vendorCode, eventClass, subclass, code, data); }

    /** Whether {@code filter} selects this event. */
    public boolean matches(EventFilter filter) { return filter.matches(this); }

    @Override public boolean equals(Object o) {
        return o instanceof KernelEvent e && e.id == id && e.vendorCode == vendorCode && e.eventClass == eventClass
                && e.subclass == subclass && e.code == code && Arrays.equals(e.data, data);
    }

    @Override public int hashCode() { return Long.hashCode(id) * 31 + code; }

    @Override public String toString() {
        return "event " + id + " " + vendorCode + "/" + eventClass + "/" + subclass + " code " + KernelEvents.codeName(this)
                + " (" + data.length + " bytes)";
    }
}
