package org.kextnet.loader.rpc;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlAddress;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.LogHub;
import org.kextnet.loader.port.Message;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.ReplyPort;

/**
 * The daemon's side of every operation, for one client: what each {@link Request} does and the {@link Response} it
 * gets. Requests arrive in order from the client's connection. Status, lookups, messages and most control
 * operations are answered on the calling thread, in order (so a client's messages reach a port in the order sent);
 * those that may wait on a server's load or unload, or on a control's data, run on their own virtual thread (as
 * kern_loader forked a handler per request). The session owns the client's reply port (when the client goes away the
 * port dies and PORT_DEATH follows) and the kernel-control connections it opened (closed with it, as a process's
 * sockets are).
 */
final class Session {
    /** The client's connection, as the session sees it. Nothing here blocks on the client or throws. */
    interface Out {
        /** A response: written in order, on the connection's own threads inline. */
        void send(ByteBuffer frame);

        /** An event: queued, bounded; a client that does not read them is closed. */
        void event(ByteBuffer frame);

        /** Runs {@code task} on a new virtual thread of the connection (a request that may wait). */
        void start(String name, Runnable task);

        /** Subscribes the connection to the log, or leaves; false if the daemon already has its most listeners. */
        boolean listening(boolean on);

        /** The protocol version the connection agreed on: how responses are laid out. */
        int version();
    }

    private final RpcServer server;
    private final KernLoader loader;
    private final Out out;
    private final boolean privileged;
    /** Who the client is, for messages ("user alice"). */
    private final String who;
    private final ReplyPort replyPort;
    /** This client's kernel-control connections by handle. */
    private final Map<Integer, ControlClient> ctls = new HashMap<>();
    private int nextCtl = 1;
    private Consumer<LogHub.Line> logListener;
    private volatile boolean closed;

    Session(RpcServer server, Out out, boolean privileged, String who) {
        this.server = server;
        this.loader = server.loader();
        this.out = out;
        this.privileged = privileged;
        this.who = who;
        this.replyPort = loader.names().newReplyPort((id, data) -> out.event(new Event.PortMessage(replyPort().id(), id, data).frame()));
    }

    ReplyPort replyPort() { return replyPort; }

    /**
     * Handles one request from the client, in the order received.
     * @param done run once the request is answered (it frees the request's share of the connection's budget)
     */
    void handle(int tag, Request<?> q, Runnable done) {
        boolean mutating = q.op().privileged() || q instanceof Request.Admin a && server.admin().isMutating(a.line());
        if (mutating && !privileged) {
            loader.log().log(LogPriority.WARNING, q.op().word() + " refused: " + who + " is not privileged");
            out.send(Response.errorFrame(q.op().code(), tag, LoaderError.NO_PERMISSION.code(), q.op().word() + ": permission denied for " + who));
            done.run();
            return;
        }
        switch (q) {
            case Request.Send s -> send(tag, s, done);
            // May wait for a load, an unload or a control's data: on their own threads, the client's other requests go on.
            case Request.Add a -> async(tag, q, done);
            case Request.Delete d -> async(tag, q, done);
            case Request.Load l -> async(tag, q, done);
            case Request.Unload u -> async(tag, q, done);
            case Request.Abort a -> async(tag, q, done);
            case Request.Admin a -> async(tag, q, done);
            case Request.CtlConnect c -> async(tag, q, done);
            case Request.CtlRecv r -> async(tag, q, done);
            default -> {
                answer(tag, q);
                done.run();
            }
        }
    }

    private void async(int tag, Request<?> q, Runnable done) {
        out.start("kern_loader-" + q.op().word().replace(' ', '-'), () -> {
            try {
                answer(tag, q);
            } finally {
                done.run();
            }
        });
    }

    /** Runs {@code q} and sends its response; an abort without restart then makes the daemon exit. */
    private <R> void answer(int tag, Request<R> q) {
        Response<R> r;
        try {
            r = Response.ok(execute(q));
        } catch (LoaderException e) {
            r = Response.error(e);
        } catch (RuntimeException e) {
            r = Response.error(LoaderError.INTERNAL.code(), e.toString());
        }
        out.send(r.frame(q, tag, out.version()));
        if (q instanceof Request.Abort a && !a.restart() && r.isOk()) server.aborted();
    }

    /** What each operation does; its result, or its refusal or failure. */
    @SuppressWarnings("unchecked") // each case yields the result type of its request
    private <R> R execute(Request<R> q) throws LoaderException {
        Object result = switch (q) {
            case Request.Ping p -> null;
            case Request.ListServers l -> loader.list();
            case Request.Info i -> loader.info(i.name());
            case Request.Add a -> loader.add(Path.of(a.script()));
            case Request.Delete d -> { loader.delete(d.name()); yield null; }
            case Request.Load l -> { loader.load(l.name()); yield null; }
            case Request.Unload u -> { loader.unload(u.name()); yield null; }
            case Request.Abort a -> loader.abort(a.restart());
            case Request.Log l -> { log(l.on()); yield null; }
            case Request.Lookup l -> lookup(l.name());
            case Request.Admin a -> admin(a.line());
            case Request.CtlList l -> server.controls().list().stream()
                    .map(c -> new Request.ControlInfo(c.name(), c.id(), c.unit(), c.flags(), c.clients(), c.owner())).toList();
            case Request.CtlConnect c -> ctlConnect(c);
            case Request.CtlSend c -> {
                ControlClient so = ctl(c.handle());
                yield so == null ? Errno.EBADF : so.send(ByteBuffer.wrap(c.data()), c.flags());
            }
            case Request.CtlRecv r -> ctlRecv(r);
            case Request.CtlSetopt c -> {
                ControlClient so = ctl(c.handle());
                yield so == null ? Errno.EBADF : so.setOption(c.option(), c.value());
            }
            case Request.CtlGetopt c -> ctlGetopt(c);
            case Request.CtlClose c -> ctlClose(c.handle());
            case Request.Send s -> throw new IllegalStateException("SEND is answered by the server's reply");
        };
        return (R) result;
    }

    private long lookup(String name) throws LoaderException {
        Port p = loader.names().lookup(name);
        if (p == null) throw new LoaderException(LoaderError.UNKNOWN_PORT, "no advertised port " + name);
        return p.id();
    }

    private String admin(String line) throws LoaderException {
        try {
            return server.admin().execute(line);
        } catch (IllegalArgumentException e) {
            throw new LoaderException(LoaderError.ADMIN_FAILED, line.strip() + ": " + e.getMessage());
        }
    }

    /** A message to a port; with a reply wanted, the answer is the server's reply, from whichever thread makes it. */
    private void send(int tag, Request.Send s, Runnable done) {
        Port p = loader.names().port(s.port());
        if (p == null) {
            out.send(Response.<Request.Reply>error(LoaderError.UNKNOWN_PORT.code(), "no port 0x" + Long.toHexString(s.port())).frame(s, tag, out.version()));
            done.run();
            return;
        }
        if (s.wantsReply()) {
            p.send(new Message(p.name(), s.id(), s.data(), replyPort.id(), (status, code, id, data, detail) -> {
                out.send((status == 0 ? Response.ok(new Request.Reply(code, id, data)) : Response.<Request.Reply>error(status, detail))
                        .frame(s, tag, out.version()));
                done.run();
            }));
        } else {
            LoaderException refused = p.send(new Message(p.name(), s.id(), s.data(), 0, null));
            out.send((refused == null ? Response.ok(new Request.Reply(0, 0, new byte[0])) : Response.<Request.Reply>error(refused))
                    .frame(s, tag, out.version()));
            done.run();
        }
    }

    /** Subscribes to the log or leaves it; 128 if the daemon has its most listeners. */
    private synchronized void log(boolean on) throws LoaderException {
        if (on && logListener == null && !closed) {
            if (!out.listening(true))
                throw new LoaderException(LoaderError.RPC_BUSY, "log: kern_loader has its most listeners (" + server.limits().maxListeners() + ")");
            logListener = line -> out.event(new Event.Log(line.level().code(), line.millis(), line.text()).frame());
            loader.log().addListener(logListener);
        } else if (!on && logListener != null) {
            loader.log().removeListener(logListener);
            logListener = null;
            out.listening(false);
        }
    }

    // ---- kernel controls (protocol 2) ----

    private ControlClient ctl(int handle) {
        synchronized (ctls) {
            return ctls.get(handle);
        }
    }

    /**
     * Connects to a control for this client. A control's name may also be an advertised port of a server that
     * is not loaded yet (the extension registers the control when it starts): then connecting loads the
     * server first, as a message to the port would, and connects once it is loaded.
     */
    private Request.Connected ctlConnect(Request.CtlConnect c) throws LoaderException {
        try {
            synchronized (ctls) {
                if (ctls.size() >= Rpc.MAX_CONTROLS) return Request.Connected.refused(Errno.ENOBUFS);
            }
            ControlClient so;
            try {
                so = server.controls().connect(c.name(), c.unit(), privileged);
            } catch (KpiException e) {
                Port p = e.errno() == Errno.ENOENT ? loader.names().lookup(c.name()) : null;
                if (p == null) throw e;
                loader.log().log(LogPriority.INFO, p.owner().serverName() + ": connect to control " + c.name() + ", loading");
                loader.load(p.owner().serverName());
                so = server.controls().connect(c.name(), c.unit(), privileged);
            }
            int handle;
            synchronized (ctls) {
                if (closed || ctls.size() >= Rpc.MAX_CONTROLS) {
                    so.close();
                    return Request.Connected.refused(Errno.ENOBUFS);
                }
                handle = nextCtl++;
                ctls.put(handle, so);
            }
            ControlAddress a = so.address();
            return new Request.Connected(0, handle, a.id(), a.unit());
        } catch (KpiException e) {
            return Request.Connected.refused(e.errno());
        }
    }

    /** Waits for data on its own thread, so the client's other requests go on meanwhile. */
    private Request.Received ctlRecv(Request.CtlRecv r) throws LoaderException {
        ControlClient so = ctl(r.handle());
        if (so == null) return new Request.Received(Errno.EBADF, -1, new byte[0]);
        ByteBuffer b = ByteBuffer.allocate(Math.min(r.max(), Rpc.MAX_CTL_ALLOC));
        try {
            int n = so.receive(b, r.timeoutMillis(), TimeUnit.MILLISECONDS);
            return new Request.Received(0, n, Arrays.copyOf(b.array(), b.position()));
        } catch (InterruptedException e) {
            throw new LoaderException(LoaderError.INTERNAL, "interrupted");
        }
    }

    private Request.OptionValue ctlGetopt(Request.CtlGetopt c) {
        ControlClient so = ctl(c.handle());
        if (so == null) return new Request.OptionValue(Errno.EBADF, 0, new byte[0]);
        byte[] buf = c.size() < 0 ? null : new byte[Math.min(c.size(), Rpc.MAX_CTL_ALLOC)];
        int n = so.getOption(c.option(), buf);
        if (n < 0) return new Request.OptionValue(-n, 0, new byte[0]);
        return new Request.OptionValue(0, n, buf == null ? new byte[0] : Arrays.copyOf(buf, Math.min(n, buf.length)));
    }

    private int ctlClose(int handle) {
        ControlClient so;
        synchronized (ctls) {
            so = ctls.remove(handle);
        }
        if (so != null) so.close(); // the control's disconnect runs here, on this client's thread
        return so == null ? Errno.EBADF : 0;
    }

    /** The client went away: its log subscription ends, its controls close, its reply port dies (PORT_DEATH). */
    void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
            if (logListener != null) loader.log().removeListener(logListener);
            logListener = null;
        }
        List<ControlClient> open;
        synchronized (ctls) {
            open = new ArrayList<>(ctls.values());
            ctls.clear();
        }
        for (ControlClient so : open) so.close(); // as a process's control sockets close when it exits
        loader.names().destroy(replyPort);
    }
}
