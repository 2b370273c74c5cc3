package org.kextnet.kernel.nke;

import org.kextnet.kpi.event.EventFilter;
import org.kextnet.kpi.event.EventKpi;
import org.kextnet.kpi.event.KernelEventListener;

/** {@link EventKpi} bound to one extension: its subscriptions are recorded. */
final class EventKpiImpl implements EventKpi {
    private final ExtensionHandle owner;

    EventKpiImpl(ExtensionHandle owner) {
        this.owner = owner;
    }

    @Override public int vendorCodeFind(String vendor) { return owner.nke().parts().events().vendorCode(vendor); }

    @Override public int post(int vendorCode, int eventClass, int subclass, int code, byte[] data) {
        return owner.nke().parts().events().postChecked(vendorCode, eventClass, subclass, code, data);
    }

    @Override public Subscription subscribe(EventFilter filter, KernelEventListener listener) {
        if (owner.isClosed()) throw new IllegalStateException("extension " + owner.name() + " is unloaded");
        return owner.nke().parts().events().subscribe(owner, filter, listener);
    }

    @Override public long currentId() { return owner.nke().parts().events().currentId(); }
}
