package org.kextnet.kernel.event;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.hook.CallSlots;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.sync.GracePeriod;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.event.EventFilter;
import org.kextnet.kpi.event.EventKpi;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.event.KernelEventListener;
import org.kextnet.kpi.event.KernelEvents;

/**
 * The kernel event bus ({@code kern_event.c}): assigns each posted event the next id and hands it, on the
 * posting thread, to every matching subscriber: extension listeners and {@link EventSocket}s. Subscribers
 * are an immutable array replaced on change, so posting takes no lock; listeners are called inside a
 * read-side section, through the posting thread's call slot, and a cancelled listener's registration ends
 * only after a grace period.
 */
public final class EventBus {
    /** First dynamic vendor code ({@code kev_vendor_code_find}). */
    public static final int FIRST_VENDOR_CODE = 1000;

    private final GracePeriod grace;
    private final CallSlots slots;
    private final AtomicLong ids = new AtomicLong();
    private final Map<String, Integer> vendors = new ConcurrentHashMap<>();
    private final AtomicInteger nextVendor = new AtomicInteger(FIRST_VENDOR_CODE);
    private volatile Subscriber[] subscribers = new Subscriber[0];

    /** A subscriber: a filter and where matching events go. */
    abstract static class Subscriber {
        final EventFilter filter;

        Subscriber(EventFilter filter) { this.filter = filter; }

        abstract void deliver(CallSlot slot, KernelEvent e);
    }

    public EventBus(GracePeriod grace, CallSlots slots) {
        this.grace = grace;
        this.slots = slots;
    }

    /** {@code kev_vendor_code_find}: a stable code per vendor string. */
    public int vendorCode(String vendor) {
        if (vendor == null || vendor.isEmpty()) throw new IllegalArgumentException("empty vendor string");
        return vendors.computeIfAbsent(vendor, v -> nextVendor.getAndIncrement());
    }

    /** The id of the last event posted. */
    public long currentId() { return ids.get(); }

    /**
     * Posts an event: gives it the next id and delivers it to every matching subscriber before returning.
     * @return the event as delivered (with its id)
     */
    public KernelEvent post(KernelEvent e) {
        KernelEvent withId = e.withId(ids.incrementAndGet());
        Subscriber[] subs = subscribers;
        if (subs.length == 0) return withId;
        CallSlot slot = slots.acquireSlot();
        try {
            slot.holder().enter();
            try {
                for (Subscriber s : subscribers) if (s.filter.matches(withId)) s.deliver(slot, withId);
            } finally {
                slot.holder().exit();
            }
        } finally {
            slots.releaseSlot(slot);
        }
        return withId;
    }

    /** Posts an event from an extension, with the checks of {@code kev_msg_post}. */
    public int postChecked(int vendorCode, int eventClass, int subclass, int code, byte[] data) {
        if (vendorCode == KernelEvents.KEV_ANY_VENDOR || vendorCode == KernelEvents.KEV_VENDOR_KEXTNET || eventClass == 0) {
            return Errno.EINVAL;
        }
        if (data != null && data.length > KernelEvents.MAX_DATA) return Errno.EMSGSIZE;
        post(KernelEvent.of(vendorCode, eventClass, subclass, code, data));
        return 0;
    }

    /** A posting shortcut for the kernel's own events. */
    public KernelEvent postKernel(int eventClass, int subclass, int code, byte[] data) {
        return post(KernelEvent.of(KernelEvents.KEV_VENDOR_KEXTNET, eventClass, subclass, code, data));
    }

    synchronized void add(Subscriber s) {
        Subscriber[] old = subscribers;
        Subscriber[] n = Arrays.copyOf(old, old.length + 1);
        n[old.length] = s;
        subscribers = n;
    }

    /** Puts {@code n} in place of {@code old} (or adds it) with one publish. */
    synchronized void replace(Subscriber old, Subscriber n) {
        Subscriber[] cur = subscribers;
        int i = old == null ? -1 : Arrays.asList(cur).indexOf(old);
        if (i < 0) {
            add(n);
            return;
        }
        Subscriber[] copy = cur.clone();
        copy[i] = n;
        subscribers = copy;
    }

    synchronized boolean remove(Subscriber s) {
        Subscriber[] old = subscribers;
        int i = Arrays.asList(old).indexOf(s);
        if (i < 0) return false;
        Subscriber[] n = new Subscriber[old.length - 1];
        System.arraycopy(old, 0, n, 0, i);
        System.arraycopy(old, i + 1, n, i, old.length - i - 1);
        subscribers = n;
        return true;
    }

    /** Opens an event socket ({@code socket(PF_SYSTEM, SOCK_RAW, SYSPROTO_EVENT)}) for code in the JVM. */
    public EventSocket openSocket() {
        EventSocket so = new EventSocket(this);
        return so;
    }

    /** Subscribes an extension's listener; the subscription is recorded against {@code owner}. */
    public EventKpi.Subscription subscribe(Owner owner, EventFilter filter, KernelEventListener listener) {
        ListenerSubscription sub = new ListenerSubscription(owner, filter, listener);
        owner.record(sub);
        add(sub.subscriber);
        return sub;
    }

    int subscriberCount() { return subscribers.length; }

    /** An extension listener's subscription. */
    private final class ListenerSubscription extends KernelRegistration implements EventKpi.Subscription {
        final Subscriber subscriber;

        ListenerSubscription(Owner owner, EventFilter filter, KernelEventListener listener) {
            super(owner, Head.EVENT_LISTENER, "kev", filter.vendorCode() + "/" + filter.eventClass() + "/" + filter.subclass());
            this.listener = listener;
            this.subscriber = new Subscriber(filter) {
                @Override void deliver(CallSlot slot, KernelEvent e) {
                    if (isActive()) run(slot, "event", () -> listener.event(e));
                }
            };
        }

        private final KernelEventListener listener;

        @Override protected Object target() { return listener; }

        @Override public void cancel() { end(Removal.REQUESTED); }

        private void end(Removal why) {
            if (!beginDetach()) return;
            remove(subscriber);
            grace.defer(() -> finish(why, null, null));
        }

        @Override public boolean removeByKernel(Removal why) {
            end(why);
            return true;
        }
    }
}
