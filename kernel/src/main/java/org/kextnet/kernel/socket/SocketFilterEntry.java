package org.kextnet.kernel.socket;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;
import org.kextnet.kpi.socketfilter.SocketFilterRef;

/**
 * A registered socket filter ({@code struct socket_filter}): its parameters, callbacks and live attachments.
 * An attachment counts from the moment its {@code attach} callback starts, so {@code unregistered} can only
 * run once every attachment is gone and every call into the filter has returned.
 */
final class SocketFilterEntry extends KernelRegistration implements SocketFilterRef {
    private final SocketFilters registry;
    private final SocketFilterParams params;
    final SocketFilter filter;
    private final Set<Attachment> attachments = ConcurrentHashMap.newKeySet();
    private int count;
    private boolean unregistering;
    private Removal removal = Removal.REQUESTED;

    SocketFilterEntry(SocketFilters registry, Owner owner, SocketFilterParams params, SocketFilter filter) {
        super(owner, Head.SOCKET_FILTER, "sflt", params.name());
        this.registry = registry;
        this.params = params;
        this.filter = filter;
    }

    @Override public int handle() { return params.handle(); }
    @Override public SocketFilterParams params() { return params; }
    @Override public synchronized int attachmentCount() { return count; }

    boolean matches(int domain, int type, int protocol) {
        return params.domain() == domain && params.type() == type && (params.protocol() == 0 || params.protocol() == protocol);
    }

    /** Reserves an attachment slot; false once unregistering. */
    synchronized boolean reserve() {
        if (unregistering || !isActive()) return false;
        count++;
        return true;
    }

    void attached(Attachment a) { attachments.add(a); }

    /** An attachment ended (its detach ran, or its attach failed); the last one lets unregistered run. */
    void release(Attachment a) {
        attachments.remove(a);
        boolean last;
        synchronized (this) {
            last = --count == 0 && unregistering;
        }
        if (last) finishUnregister();
    }

    @Override public void unregister() { beginUnregister(Removal.REQUESTED); }

    @Override public void unregisterAndDetachAll() {
        beginUnregister(Removal.REQUESTED);
        detachAll();
    }

    private void detachAll() {
        for (Attachment a : new ArrayList<>(attachments)) a.set().detach(a);
    }

    private void beginUnregister(Removal why) {
        boolean none;
        synchronized (this) {
            if (unregistering) return;
            unregistering = true;
            removal = why;
            none = count == 0;
        }
        if (!beginDetach()) return;
        registry.unlist(this);
        if (none) finishUnregister();
    }

    private void finishUnregister() {
        registry.heads().grace().defer(() -> finish(removal, "unregistered", () -> filter.unregistered(params.handle())));
    }

    @Override protected Object target() { return filter; }

    @Override public boolean removeByKernel(Removal why) {
        beginUnregister(why);
        detachAll();
        return true;
    }

    List<Attachment> attachments() { return new ArrayList<>(attachments); }

    @Override public String describe() {
        return super.describe() + " handle 0x" + Integer.toHexString(params.handle()) + ", " + attachmentCount() + " sockets";
    }
}
