package org.kextnet.kernel.socket;

import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.hook.Heads;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.socket.Socket;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;
import org.kextnet.kpi.socketfilter.SocketFilterRef;

/**
 * The socket filters registered with the kernel ({@code sflt_register}): global ones attach to every new
 * socket of their (domain, type, protocol) when the socket is created; any may be attached to a socket by
 * handle ({@code SO_NKE}, {@code sflt_attach}).
 */
public final class SocketFilters {
    private final Contexts contexts;
    private final Heads heads;
    private volatile SocketFilterEntry[] registered = new SocketFilterEntry[0];

    public SocketFilters(Contexts contexts, Heads heads) {
        this.contexts = contexts;
        this.heads = heads;
    }

    /** The kernel's packet contexts: socket calls run on the caller's. */
    public Contexts contexts() { return contexts; }

    public Heads heads() { return heads; }


    public SocketFilterRef register(Owner owner, SocketFilterParams p, SocketFilter filter) throws KpiException {
        owner.checkOpen();
        int kind = p.flags() & (SocketFilterParams.FLAG_GLOBAL | SocketFilterParams.FLAG_PROG);
        if (kind == 0 || kind == (SocketFilterParams.FLAG_GLOBAL | SocketFilterParams.FLAG_PROG) || filter == null) {
            throw new KpiException(Errno.EINVAL, "a socket filter is either GLOBAL or PROG");
        }
        if (p.handle() == 0) throw new KpiException(Errno.EINVAL, "handle 0 means \"every filter\" to the inject calls");
        SocketFilterEntry e = new SocketFilterEntry(this, owner, p, filter);
        synchronized (this) {
            for (SocketFilterEntry x : registered) {
                if (x.handle() == p.handle()) throw new KpiException(Errno.EEXIST, "socket filter handle 0x" + Integer.toHexString(p.handle()) + " is registered");
            }
            SocketFilterEntry[] n = java.util.Arrays.copyOf(registered, registered.length + 1);
            n[registered.length] = e;
            registered = n;
        }
        owner.record(e);
        return e;
    }

    synchronized void unlist(SocketFilterEntry e) {
        List<SocketFilterEntry> l = new ArrayList<>(List.of(registered));
        l.remove(e);
        registered = l.toArray(SocketFilterEntry[]::new);
    }

    private SocketFilterEntry find(int handle) {
        for (SocketFilterEntry e : registered) if (e.handle() == handle) return e;
        return null;
    }

    /** A new socket: attaches every global filter registered for its kind, in registration order. */
    public void socketCreated(FilteredSocket so) {
        for (SocketFilterEntry e : registered) {
            if ((e.params().flags() & SocketFilterParams.FLAG_GLOBAL) != 0 && e.matches(so.family(), so.type(), so.protocol())) {
                so.filters().attach(e); // a filter that declines is simply not attached
            }
        }
    }

    /** {@code sflt_attach} / {@code SO_NKE}. */
    public int attach(Socket so, int handle) {
        if (!(so instanceof FilteredSocket fs)) return Errno.EINVAL;
        SocketFilterEntry e = find(handle);
        if (e == null) return Errno.ENOENT;
        return fs.filters().attach(e);
    }

    /** {@code sflt_detach}. */
    public int detach(Socket so, int handle) {
        if (!(so instanceof FilteredSocket fs)) return Errno.EINVAL;
        Attachment a = fs.filters().find(handle);
        if (a == null) return Errno.ENOENT;
        fs.filters().detach(a);
        return 0;
    }

    /** Status lines. */
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        for (SocketFilterEntry e : registered) l.add(e.describe());
        return l;
    }

}
