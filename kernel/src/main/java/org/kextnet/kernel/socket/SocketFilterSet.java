package org.kextnet.kernel.socket;

import java.util.Arrays;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SockOpt;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;

/**
 * The filters attached to one socket, in attachment order, and the code that calls them
 * ({@code sflt_*} of xnu's {@code kpi_socketfilter.c}). The list is an immutable array replaced on change;
 * calls run inside a read-side section, so a detached filter's {@code detach} runs after the calls that
 * could still see it. No socket lock is held while a filter runs.
 *
 * <p>Results, for every call that can fail: 0 continues, {@link Errno#EJUSTRETURN} stops and the caller
 * reports success without going on (for data: the filter owns it), another errno stops and fails the call.
 * A filter that throws counts as {@link Errno#EIO}.
 */
public final class SocketFilterSet {
    private static final Attachment[] NONE = new Attachment[0];

    private final SocketFilters registry;
    private final FilteredSocket socket;
    private volatile Attachment[] chain = NONE;
    private boolean closed;
    // Guarded by this: the next attachment's place, and where detached filters stood, so that data a filter
    // re-injects after it detached (an unload flushing its queue) resumes after its old place.
    private long nextOrder;
    private int[] departedHandles = new int[0];
    private long[] departedOrders = new long[0];

    public SocketFilterSet(SocketFilters registry, FilteredSocket socket) {
        this.registry = registry;
        this.socket = socket;
    }

    FilteredSocket socket() { return socket; }

    /** Whether no filter is attached: one volatile read, for the data paths. */
    public boolean isEmpty() { return chain.length == 0; }

    /** Handles of the attached filters, in order (status, tests). */
    public int[] handles() { return Arrays.stream(chain).mapToInt(Attachment::handle).toArray(); }

    Attachment find(int handle) {
        for (Attachment a : chain) if (a.handle() == handle) return a;
        return null;
    }

    /**
     * Attaches {@code entry}: reserves the slot, runs its {@code attach} callback on this thread, and publishes
     * the attachment if it accepted.
     * @return 0, EEXIST (already attached), ENOENT (unregistering), EBADF (socket closed), or the filter's error
     */
    int attach(SocketFilterEntry entry) {
        synchronized (this) {
            if (closed) return Errno.EBADF;
            if (find(entry.handle()) != null) return Errno.EEXIST;
        }
        if (!entry.reserve()) return Errno.ENOENT;
        Attachment a = new Attachment(entry, this);
        int r = entry.call("attach", () -> entry.filter.attach(a), Errno.EIO);
        if (r == 0) {
            synchronized (this) {
                if (!closed && find(entry.handle()) == null) {
                    a.order = nextOrder++;
                    Attachment[] c = Arrays.copyOf(chain, chain.length + 1);
                    c[chain.length] = a;
                    chain = c;
                    entry.attached(a);
                    return 0;
                }
            }
            r = closed ? Errno.EBADF : Errno.EEXIST; // lost a race with close or a second attach: undo
            finishDetach(a, true);
            return r;
        }
        entry.release(a);
        return r;
    }

    /** Detaches one filter; its {@code detach} runs after the calls inside it on this socket returned. */
    void detach(Attachment a) {
        synchronized (this) {
            int i = Arrays.asList(chain).indexOf(a);
            if (i < 0 || a.detaching) return;
            a.detaching = true;
            Attachment[] c = new Attachment[chain.length - 1];
            System.arraycopy(chain, 0, c, 0, i);
            System.arraycopy(chain, i + 1, c, i, chain.length - i - 1);
            chain = c;
            departedHandles = Arrays.copyOf(departedHandles, departedHandles.length + 1);
            departedOrders = Arrays.copyOf(departedOrders, departedOrders.length + 1);
            departedHandles[departedHandles.length - 1] = a.handle();
            departedOrders[departedOrders.length - 1] = a.order;
        }
        registry.heads().grace().defer(() -> finishDetach(a, true));
    }

    private void finishDetach(Attachment a, boolean callDetach) {
        if (callDetach) a.entry.run("detach", () -> a.entry.filter.detach(a));
        a.entry.release(a);
    }

    /** The socket closes: no more attachments, and every filter detaches. */
    public void close() {
        Attachment[] all;
        synchronized (this) {
            closed = true;
            all = chain;
        }
        for (Attachment a : all) detach(a);
    }

    // ---- the calls ----

    @FunctionalInterface
    private interface Call {
        int call(SocketFilter f, Attachment a);
    }

    /** Runs a control-path call over the chain; returns 0, EJUSTRETURN or the first error. */
    private int run(String name, Call call) {
        Attachment[] c = chain;
        if (c.length == 0) return 0;
        PacketContext ctx = registry.contexts().acquire();
        ctx.enter();
        try {
            CallSlot s = ctx.calls;
            for (Attachment a : c) {
                int r;
                try {
                    s.enter(a.entry);
                    r = call.call(a.entry.filter, a);
                    s.exit();
                } catch (Throwable t) {
                    s.threw(t);
                    a.entry.fault(name, t);
                    return Errno.EIO;
                }
                if (r != 0) return r;
            }
            return 0;
        } finally {
            ctx.exit();
            registry.contexts().release(ctx);
        }
    }

    /** {@code sf_notify}: observe-only events. */
    public void notify(int event, int param) {
        if (chain.length == 0) return;
        PacketContext ctx = registry.contexts().acquire();
        ctx.enter();
        try {
            for (Attachment a : chain) a.entry.run(ctx.calls, "notify", () -> a.entry.filter.notify(a, event, param));
        } finally {
            ctx.exit();
            registry.contexts().release(ctx);
        }
    }

    public int bind(SockAddr to) { return run("bind", (f, a) -> f.bind(a, to)); }
    public int connectOut(SockAddr to) { return run("connect_out", (f, a) -> f.connectOut(a, to)); }
    public int connectIn(SockAddr from) { return run("connect_in", (f, a) -> f.connectIn(a, from)); }
    public int listen() { return run("listen", (f, a) -> f.listen(a)); }
    public int getSockName(SockAddr sa) { return run("getsockname", (f, a) -> f.getSockName(a, sa)); }
    public int getPeerName(SockAddr sa) { return run("getpeername", (f, a) -> f.getPeerName(a, sa)); }
    public int ioctl(long request, Object arg) { return run("ioctl", (f, a) -> f.ioctl(a, request, arg)); }

    /**
     * {@code sf_accept} (filters registered with {@code SFLT_EXTENDED} only) on a socket just accepted ({@code so} is that socket; these are its filters): a filter that
     * returns EJUSTRETURN is detached from it and the others go on; any other error refuses the connection.
     * @return 0 to hand the socket to the caller, or the errno that refused it
     */
    public int accept(org.kextnet.kpi.socket.Socket so, SockAddr local, SockAddr remote) {
        Attachment[] c = chain;
        if (c.length == 0) return 0;
        PacketContext ctx = registry.contexts().acquire();
        ctx.enter();
        try {
            for (Attachment a : c) {
                if ((a.entry.params().flags() & SocketFilterParams.FLAG_EXTENDED) == 0) continue; // sf_accept is extended
                int r;
                try {
                    r = a.entry.filter.accept(a, so, local.copy(), remote.copy());
                } catch (Throwable t) {
                    a.entry.fault("accept", t);
                    r = Errno.EIO;
                }
                if (r == Errno.EJUSTRETURN) detach(a);
                else if (r != 0) return r;
            }
            return 0;
        } finally {
            ctx.exit();
            registry.contexts().release(ctx);
        }
    }

    int option(SockOpt opt) {
        return run(opt.direction() == SockOpt.SET ? "setoption" : "getoption",
                (f, a) -> opt.direction() == SockOpt.SET ? f.setOption(a, opt) : f.getOption(a, opt));
    }

    /**
     * {@code sf_data_in} on received data (the payload), from the filter after the one with handle
     * {@code resumeAfter} (0: all).
     * @return 0 to queue the data; otherwise it is no longer the caller's: EJUSTRETURN (a filter took it) or
     *         the error (it was freed)
     */
    public int dataIn(PacketContext ctx, SockAddr from, Packet data, Packet control, int flags, int resumeAfter) {
        return data(ctx, true, from, data, control, flags, resumeAfter);
    }

    /** {@code sf_data_out}; as {@link #dataIn}. */
    public int dataOut(PacketContext ctx, SockAddr to, Packet data, Packet control, int flags, int resumeAfter) {
        return data(ctx, false, to, data, control, flags, resumeAfter);
    }

    private int data(PacketContext ctx, boolean in, SockAddr addr, Packet data, Packet control, int flags, int resumeAfter) {
        if (chain.length == 0) return 0;
        ctx.enter();
        try {
            CallSlot s = ctx.calls;
            long t = s.walkIn(true);
            Attachment[] c = chain;
            for (int i = start(c, resumeAfter); i < c.length; i++) {
                Attachment a = c[i];
                int gen = data.generation();
                int r;
                try {
                    s.call(a.entry);
                    r = in ? a.entry.filter.dataIn(a, addr, data, control, flags)
                           : a.entry.filter.dataOut(a, addr, data, control, flags);
                    t = s.returned(a.entry, r, t);
                } catch (Throwable x) {
                    t = s.threw(x, t);
                    a.entry.fault(in ? "data_in" : "data_out", x);
                    r = Errno.EIO;
                }
                if (r != 0) {
                    s.walkOut(t);
                    return stopped(r, data, control, gen);
                }
            }
            s.walkOut(t);
            return 0;
        } finally {
            ctx.exit();
        }
    }

    /**
     * Where a run that resumes after filter {@code resumeAfter} starts in {@code c}: after its place, also when
     * it has detached since (the filters before it saw the data already). A filter that never was on this
     * socket injects as if the data were new: every filter runs.
     */
    private int start(Attachment[] c, int resumeAfter) {
        if (resumeAfter == 0) return 0;
        for (int i = 0; i < c.length; i++) if (c[i].handle() == resumeAfter) return i + 1;
        long after = -1;
        synchronized (this) {
            for (int i = 0; i < departedHandles.length; i++) if (departedHandles[i] == resumeAfter) after = departedOrders[i];
        }
        if (after < 0) return 0;
        int i = 0;
        while (i < c.length && c[i].order <= after) i++;
        return i;
    }

    private static int stopped(int r, Packet data, Packet control, int gen) {
        if (r != Errno.EJUSTRETURN) {
            if (!data.isFree() && data.generation() == gen) data.free();
            if (control != null && !control.isFree()) control.free();
        }
        return r;
    }
}
