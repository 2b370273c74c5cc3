package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

import org.kextnet.kernel.control.ControlRegistry;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlAddress;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.LogHub;
import org.kextnet.loader.ServerInfo;
import org.kextnet.loader.port.Message;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.ReplyPort;

/**
 * One client of the RPC port. Its reader thread decodes frames and answers status, lookups and messages
 * itself, in order (so a client's messages reach a port in the order sent); operations that may wait on a
 * server's load or unload run on their own virtual thread (as kern_loader forked a handler per request).
 * The connection owns one reply port; when the client goes away the port dies and PORT_DEATH follows. It also
 * owns the kernel-control connections the client opened (protocol 2), closed with it.
 */
final class Connection {
    private final RpcServer server;
    private final java.nio.channels.SocketChannel socket;
    private final FrameChannel ch;
    private final KernLoader loader;
    private UnixDomainPrincipal peer;
    private boolean privileged;
    private ReplyPort replyPort;
    private volatile int version;
    /** This client's kernel-control connections by handle; closed with the connection, as a process's sockets are. */
    private final Map<Integer, ControlClient> ctls = new HashMap<>();
    private int nextCtl = 1;
    private Consumer<LogHub.Line> logListener;
    private volatile boolean closed;

    Connection(RpcServer server, java.nio.channels.SocketChannel ch) {
        this.server = server;
        this.socket = ch;
        this.ch = new FrameChannel(ch);
        this.loader = server.loader();
    }

    void start() {
        Thread.ofPlatform().name("kern_loader-conn").daemon().start(this::run);
    }

    private void run() {
        try {
            if (!greet()) return;
            while (!closed) {
                ByteBuffer f;
                try {
                    f = ch.readFrame();
                } catch (RpcFormatException e) {
                    send(response(0, 0, e.code(), e.getMessage())); // framing lost: answer, then close
                    return;
                }
                if (f == null) return;
                handle(f);
            }
        } catch (IOException e) {
            // client went away
        } catch (RuntimeException e) {
            loader.log().log(3, "rpc connection: " + e);
        } finally {
            close();
        }
    }

    private boolean greet() throws IOException {
        ByteBuffer h = ch.readExactly(8);
        if (h.getInt() != Rpc.MAGIC) return false;
        int clientVersion = h.getShort() & 0xffff;
        peer = socket.getOption(ExtendedSocketOptions.SO_PEERCRED);
        privileged = server.policy().privileged(peer);
        int version = Math.min(clientVersion, Rpc.VERSION);
        boolean refused = version < Rpc.MIN_VERSION;
        this.version = version;
        replyPort = refused ? null : loader.names().newReplyPort(this::unsolicited);
        RpcWriter w = new RpcWriter();
        w.i32(Rpc.MAGIC).u16(refused ? Rpc.VERSION : version).u16((privileged ? Rpc.HELLO_PRIVILEGED : 0) | (refused ? Rpc.HELLO_VERSION_REFUSED : 0))
                .i64(replyPort == null ? 0 : replyPort.id()).str(peer == null ? "?" : peer.user().getName());
        send(w.raw());
        return !refused;
    }

    private void handle(ByteBuffer f) throws IOException {
        int op = f.get(f.position()) & 0xff;
        int tag = f.remaining() >= 5 ? f.getInt(f.position() + 1) : 0;
        if (Rpc.since(op) > version) { // as a server of the agreed version would answer
            send(response(op, tag, LoaderError.RPC_UNKNOWN_OP.code(), "unknown operation 0x" + Integer.toHexString(op)
                    + " (" + Rpc.opName(op) + " needs protocol " + Rpc.since(op) + "; this connection agreed on " + version + ")"));
            return;
        }
        RpcRequest q;
        try {
            q = RpcRequest.decode(f);
        } catch (LoaderException e) {
            send(response(op, tag, e.code(), e.getMessage()));
            return;
        }
        switch (q) {
            case RpcRequest.Send s -> send(s);
            case RpcRequest.CtlList l -> ctlList(l);
            case RpcRequest.CtlConnect c -> Thread.ofVirtual().name("kern_loader-ctl").start(() -> ctlConnect(c));
            case RpcRequest.CtlRecv r -> Thread.ofVirtual().name("kern_loader-ctl").start(() -> ctlRecv(r));
            case RpcRequest.CtlSend c -> {
                ControlClient so = ctl(c.handle());
                send(ctlResult(Rpc.CTL_SEND, c.tag(), so == null ? Errno.EBADF : so.send(ByteBuffer.wrap(c.data()), c.flags())).frame());
            }
            case RpcRequest.CtlSetopt c -> {
                ControlClient so = ctl(c.handle());
                send(ctlResult(Rpc.CTL_SETOPT, c.tag(), so == null ? Errno.EBADF : so.setOption(c.option(), c.value())).frame());
            }
            case RpcRequest.CtlGetopt c -> ctlGetopt(c);
            case RpcRequest.CtlClose c -> {
                ControlClient so;
                synchronized (ctls) {
                    so = ctls.remove(c.handle());
                }
                if (so != null) so.close(); // the control's disconnect runs here, on this client's thread
                send(ctlResult(Rpc.CTL_CLOSE, c.tag(), so == null ? Errno.EBADF : 0).frame());
            }
            case RpcRequest.Ping p -> send(ok(Rpc.PING, p.tag()).frame());
            case RpcRequest.Lookup l -> lookup(l);
            case RpcRequest.ListServers l -> {
                List<ServerInfo> all = loader.list();
                RpcWriter w = ok(Rpc.LIST, l.tag()).i32(all.size());
                for (ServerInfo i : all) InfoCodec.write(w, i);
                send(w.frame());
            }
            case RpcRequest.Info i -> {
                try {
                    ServerInfo info = loader.info(i.name());
                    RpcWriter w = ok(Rpc.INFO, i.tag());
                    InfoCodec.write(w, info);
                    send(w.frame());
                } catch (LoaderException e) {
                    send(response(Rpc.INFO, i.tag(), e.code(), e.getMessage()));
                }
            }
            case RpcRequest.Log l -> log(l);
            default -> Thread.ofVirtual().name("kern_loader-request").start(() -> control(q));
        }
    }

    /** Mutating operations: privileged only; a refusal changes nothing. */
    private void control(RpcRequest q) {
        int op = switch (q) {
            case RpcRequest.Add a -> Rpc.ADD; case RpcRequest.Delete d -> Rpc.DELETE; case RpcRequest.Load l -> Rpc.LOAD;
            case RpcRequest.Unload u -> Rpc.UNLOAD; case RpcRequest.Abort a -> Rpc.ABORT; case RpcRequest.Admin a -> Rpc.ADMIN;
            default -> 0;
        };
        try {
            boolean mutating = !(q instanceof RpcRequest.Admin a) || server.admin().isMutating(a.line());
            if (mutating && !privileged) {
                String who = peer == null ? "unknown peer" : "user " + peer.user().getName();
                loader.log().log(4, Rpc.opName(op) + " refused: " + who + " is not privileged");
                send(response(op, q.tag(), LoaderError.NO_PERMISSION.code(), Rpc.opName(op) + ": permission denied for " + who));
                return;
            }
            RpcWriter w = ok(op, q.tag());
            switch (q) {
                case RpcRequest.Add a -> InfoCodec.write(w, loader.add(java.nio.file.Path.of(a.script())));
                case RpcRequest.Delete d -> loader.delete(d.name());
                case RpcRequest.Load l -> loader.load(l.name());
                case RpcRequest.Unload u -> loader.unload(u.name());
                case RpcRequest.Abort a -> {
                    List<LoaderException> errors = loader.abort(a.restart());
                    w.i32(errors.size());
                    for (LoaderException e : errors) w.u16(e.code()).str(e.getMessage());
                }
                case RpcRequest.Admin a -> {
                    try {
                        w.str(server.admin().execute(a.line()));
                    } catch (IllegalArgumentException e) {
                        throw new LoaderException(LoaderError.ADMIN_FAILED, a.line().strip() + ": " + e.getMessage());
                    }
                }
                default -> throw new IllegalStateException();
            }
            send(w.frame());
            if (q instanceof RpcRequest.Abort a && !a.restart()) server.aborted();
        } catch (LoaderException e) {
            sendQuietly(response(op, q.tag(), e.code(), e.getMessage()));
        } catch (IOException e) {
            close();
        } catch (RuntimeException e) {
            sendQuietly(response(op, q.tag(), LoaderError.INTERNAL.code(), e.toString()));
        }
    }

    private void lookup(RpcRequest.Lookup l) throws IOException {
        Port p = loader.names().lookup(l.name());
        if (p == null) send(response(Rpc.LOOKUP, l.tag(), LoaderError.UNKNOWN_PORT.code(), "no advertised port " + l.name()));
        else send(ok(Rpc.LOOKUP, l.tag()).i64(p.id()).frame());
    }

    private void send(RpcRequest.Send s) throws IOException {
        Port p = loader.names().port(s.port());
        if (p == null) {
            send(response(Rpc.SEND, s.tag(), LoaderError.UNKNOWN_PORT.code(), "no port 0x" + Long.toHexString(s.port())));
            return;
        }
        int tag = s.tag();
        if (s.wantsReply()) {
            p.send(new Message(p.name(), s.id(), s.data(), replyPort.id(), (status, code, id, data, detail) -> {
                RpcWriter w = new RpcWriter(Rpc.SEND | Rpc.RESPONSE, tag).u16(status);
                if (status == 0) w.i32(code).i32(id).bytes(data); else w.str(detail);
                sendQuietly(w.frame());
            }));
        } else {
            p.send(new Message(p.name(), s.id(), s.data(), 0, null));
            send(ok(Rpc.SEND, tag).i32(0).i32(0).bytes(new byte[0]).frame());
        }
    }

    private void log(RpcRequest.Log l) throws IOException {
        synchronized (this) {
            if (l.on() && logListener == null) {
                logListener = line -> sendQuietly(new RpcWriter(Rpc.EVENT_LOG, 0).u8(line.level()).i64(line.millis()).str(line.text()).frame());
                loader.log().addListener(logListener);
            } else if (!l.on() && logListener != null) {
                loader.log().removeListener(logListener);
                logListener = null;
            }
        }
        send(ok(Rpc.LOG, l.tag()).frame());
    }

    // ---- kernel controls (protocol 2) ----

    private ControlClient ctl(int handle) {
        synchronized (ctls) {
            return ctls.get(handle);
        }
    }

    /** A control operation's response: status 0, then the kernel's errno (0 for success). */
    private static RpcWriter ctlResult(int op, int tag, int errno) {
        return ok(op, tag).i32(errno);
    }

    private void ctlList(RpcRequest.CtlList l) throws IOException {
        List<ControlRegistry.ControlInfo> all = server.controls().list();
        RpcWriter w = ok(Rpc.CTL_LIST, l.tag()).i32(all.size());
        for (ControlRegistry.ControlInfo c : all) w.str(c.name()).i32(c.id()).i32(c.unit()).i32(c.flags()).i32(c.clients()).str(c.owner());
        send(w.frame());
    }

    /**
     * Connects to a control for this client. A control's name may also be an advertised port of a server that
     * is not loaded yet (the extension registers the control when it starts): then connecting loads the
     * server first, as a message to the port would, and connects once it is loaded.
     */
    private void ctlConnect(RpcRequest.CtlConnect c) {
        try {
            synchronized (ctls) {
                if (ctls.size() >= Rpc.MAX_CONTROLS) {
                    sendQuietly(ctlResult(Rpc.CTL_CONNECT, c.tag(), Errno.ENOBUFS).i32(0).i32(0).i32(0).frame());
                    return;
                }
            }
            ControlClient so;
            try {
                so = server.controls().connect(c.name(), c.unit(), privileged);
            } catch (KpiException e) {
                Port p = e.errno() == Errno.ENOENT ? loader.names().lookup(c.name()) : null;
                if (p == null) throw e;
                loader.log().log(6, p.owner().serverName() + ": connect to control " + c.name() + ", loading");
                loader.load(p.owner().serverName());
                so = server.controls().connect(c.name(), c.unit(), privileged);
            }
            int handle;
            synchronized (ctls) {
                if (closed || ctls.size() >= Rpc.MAX_CONTROLS) {
                    so.close();
                    sendQuietly(ctlResult(Rpc.CTL_CONNECT, c.tag(), Errno.ENOBUFS).i32(0).i32(0).i32(0).frame());
                    return;
                }
                handle = nextCtl++;
                ctls.put(handle, so);
            }
            ControlAddress a = so.address();
            sendQuietly(ctlResult(Rpc.CTL_CONNECT, c.tag(), 0).i32(handle).i32(a.id()).i32(a.unit()).frame());
        } catch (KpiException e) {
            sendQuietly(ctlResult(Rpc.CTL_CONNECT, c.tag(), e.errno()).i32(0).i32(0).i32(0).frame());
        } catch (LoaderException e) {
            sendQuietly(response(Rpc.CTL_CONNECT, c.tag(), e.code(), e.getMessage()));
        } catch (RuntimeException e) {
            sendQuietly(response(Rpc.CTL_CONNECT, c.tag(), LoaderError.INTERNAL.code(), e.toString()));
        }
    }

    /** Waits for data on its own thread, so the client's other requests go on meanwhile. */
    private void ctlRecv(RpcRequest.CtlRecv r) {
        ControlClient so = ctl(r.handle());
        if (so == null) {
            sendQuietly(ctlResult(Rpc.CTL_RECV, r.tag(), Errno.EBADF).i32(-1).bytes(new byte[0]).frame());
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(r.max());
        try {
            int n = so.receive(b, r.timeoutMillis(), TimeUnit.MILLISECONDS);
            sendQuietly(ctlResult(Rpc.CTL_RECV, r.tag(), 0).i32(n).bytes(Arrays.copyOf(b.array(), b.position())).frame());
        } catch (InterruptedException e) {
            sendQuietly(response(Rpc.CTL_RECV, r.tag(), LoaderError.INTERNAL.code(), "interrupted"));
        }
    }

    private void ctlGetopt(RpcRequest.CtlGetopt c) throws IOException {
        ControlClient so = ctl(c.handle());
        if (so == null) {
            send(ctlResult(Rpc.CTL_GETOPT, c.tag(), Errno.EBADF).i32(0).bytes(new byte[0]).frame());
            return;
        }
        byte[] buf = c.size() < 0 ? null : new byte[c.size()];
        int n = so.getOption(c.option(), buf);
        if (n < 0) send(ctlResult(Rpc.CTL_GETOPT, c.tag(), -n).i32(0).bytes(new byte[0]).frame());
        else send(ctlResult(Rpc.CTL_GETOPT, c.tag(), 0).i32(n).bytes(buf == null ? new byte[0] : Arrays.copyOf(buf, Math.min(n, buf.length))).frame());
    }

    private void unsolicited(int id, byte[] data) {
        sendQuietly(new RpcWriter(Rpc.EVENT_PORT_MSG, 0).i64(replyPort.id()).i32(id).bytes(data).frame());
    }

    private static RpcWriter ok(int op, int tag) {
        return new RpcWriter(op | Rpc.RESPONSE, tag).u16(0);
    }

    private static ByteBuffer response(int op, int tag, int code, String message) {
        return new RpcWriter(op | Rpc.RESPONSE, tag).u16(code).str(message).frame();
    }

    private void send(ByteBuffer b) throws IOException {
        ch.write(b);
    }

    private void sendQuietly(ByteBuffer b) {
        if (closed) return;
        try {
            ch.write(b);
        } catch (IOException e) {
            close();
        }
    }

    void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
            if (logListener != null) loader.log().removeListener(logListener);
            logListener = null;
        }
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        List<ControlClient> open;
        synchronized (ctls) {
            open = new ArrayList<>(ctls.values());
            ctls.clear();
        }
        for (ControlClient so : open) so.close(); // as a process's control sockets close when it exits
        if (replyPort != null) loader.names().destroy(replyPort);
        server.closed(this);
    }
}
