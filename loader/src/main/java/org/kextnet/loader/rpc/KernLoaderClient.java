package org.kextnet.loader.rpc;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlAddress;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.LogHub;
import org.kextnet.loader.ServerInfo;

/**
 * The Java client of the kern_loader RPC (the {@code kern_loader_*} library): one connection, requests
 * matched to responses by tag so several may be outstanding, events (log lines, unsolicited port
 * messages) delivered to listeners on the reader thread. Every wait is bounded by {@link #timeoutMillis}.
 */
public final class KernLoaderClient implements RpcClient {
    private final FrameChannel ch;
    private final Hello hello;
    private final int version;
    private final Map<Integer, Pending<?>> pending = new ConcurrentHashMap<>();
    /** Completes, with why, when the connection ends. */
    private final CompletableFuture<IOException> ended = new CompletableFuture<>();
    private volatile boolean closing;
    private final AtomicInteger nextTag = new AtomicInteger(1);
    private volatile Consumer<LogHub.Line> logListener = l -> {};
    private volatile PortListener portListener = (p, id, d) -> {};
    private volatile long timeoutMillis = 120_000;
    private volatile IOException failure;

    /** Unsolicited messages sent to this client's reply port. */
    @FunctionalInterface
    public interface PortListener {
        void message(long replyPort, int id, byte[] data);
    }

    /** A request sent and its response to come, decoded on the reader thread. */
    private record Pending<R>(Request<R> request, CompletableFuture<Response<R>> future) {
        void complete(ByteBuffer body, int version) {
            try {
                future.complete(Response.decode(request, body, version));
            } catch (RpcFormatException e) {
                future.completeExceptionally(new IOException("bad response to " + request.op().word() + " from kern_loader: " + e.getMessage()));
            }
        }
    }

    private KernLoaderClient(FrameChannel ch, Hello hello) {
        this.ch = ch;
        this.hello = hello;
        this.version = hello.version();
        Thread.ofPlatform().name("kern_loader-client").daemon().start(this::readLoop);
    }

    /** {@code kern_loader_look_up}: connects to the daemon at {@code socket}. */
    public static KernLoaderClient connect(Path socket) throws IOException, LoaderException {
        return connect(socket, Rpc.VERSION);
    }

    /** Connects announcing {@code clientVersion} (tests of version negotiation use others). */
    public static KernLoaderClient connect(Path socket, int clientVersion) throws IOException, LoaderException {
        SocketChannel sc = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            sc.connect(UnixDomainSocketAddress.of(socket));
            FrameChannel ch = new FrameChannel(sc);
            return new KernLoaderClient(ch, Hello.exchange(ch, clientVersion, socket));
        } catch (IOException | LoaderException | RuntimeException e) {
            sc.close();
            throw e;
        }
    }

    /** The protocol version agreed with the daemon. */
    public int version() { return version; }
    /** Whether the daemon considers this client privileged (its peer credentials). */
    public boolean privileged() { return hello.privileged(); }
    /** This client's reply port id. */
    public long replyPort() { return hello.replyPort(); }
    /** The user name the daemon saw. */
    public String user() { return hello.user(); }
    /** The daemon's pid (protocol 3; 0 from an older daemon). */
    public long pid() { return hello.pid(); }
    /** The daemon as messages name it: "kern_loader (pid 1234, /run/kextnet/kern_loader.sock)". */
    public String daemon() { return hello.daemon(); }

    /**
     * Completes when the connection ends, with why: the daemon's own reason if it gave one (it is shutting down, the
     * connection was idle...), else that it was lost without notice (the daemon killed, or gone). Never completes
     * exceptionally.
     */
    public CompletableFuture<IOException> ended() { return ended; }

    /** Why the connection ended, or null while it is open (and after this client's own {@link #close}). */
    public IOException lost() {
        IOException f = failure;
        return closing ? null : f;
    }

    public void timeoutMillis(long t) { this.timeoutMillis = t; }
    public void onLog(Consumer<LogHub.Line> l) { this.logListener = l; }
    public void onPortMessage(PortListener l) { this.portListener = l; }

    private void readLoop() {
        Parts parts = new Parts();
        Event.Closing said = null;
        try {
            while (true) {
                ByteBuffer f = ch.readFrame();
                if (f == null) break;
                int op = f.get() & 0xff;
                int tag = f.getInt();
                if (op == Rpc.PART) {
                    parts.add(tag, f);
                } else if (tag == 0 && op >= Rpc.EVENT_LOG) {
                    switch (Event.decode(op, f)) {
                        case Event.Log l -> logListener.accept(new LogHub.Line(l.millis(), LogPriority.of(l.level()), l.text()));
                        case Event.PortMessage m -> portListener.message(m.replyPort(), m.id(), m.data());
                        case Event.Closing c -> said = c;
                        case null -> { } // an event a newer daemon sends
                    }
                } else {
                    ByteBuffer body = parts.complete(tag, f);
                    Pending<?> p = pending.remove(tag);
                    if (p != null) p.complete(body, version);
                }
            }
            failure = said != null ? new IOException(daemon() + ": " + said.reason())
                    : new IOException("lost " + daemon() + ": the connection ended without notice");
        } catch (IOException e) {
            failure = closing ? new IOException("closed") : said != null ? new IOException(daemon() + ": " + said.reason())
                    : new IOException("lost " + daemon() + ": " + e.getMessage(), e);
        } catch (RpcFormatException e) {
            failure = new IOException("bad frame from " + daemon() + ": " + e.getMessage());
        } finally {
            IOException f = failure != null ? failure : new IOException("closed");
            failure = f;
            for (Pending<?> p : pending.values()) p.future().completeExceptionally(f);
            pending.clear();
            ended.complete(f);
        }
    }

    /** Sends {@code request}; the future completes with its response. */
    public <R> CompletableFuture<Response<R>> submit(Request<R> request) throws IOException {
        int tag = nextTag.getAndIncrement();
        Pending<R> p = new Pending<>(request, new CompletableFuture<>());
        pending.put(tag, p);
        if (failure != null) {
            pending.remove(tag);
            throw failure;
        }
        ch.write(request.frame(tag));
        return p.future();
    }

    /** Sends a request and waits (at most {@link #timeoutMillis}) for its result. */
    @Override public <R> R call(Request<R> request) throws IOException, LoaderException {
        return await(submit(request), timeoutMillis).get();
    }

    /** Waits for a response from {@link #submit}. */
    public <R> Response<R> await(CompletableFuture<Response<R>> f) throws IOException {
        return await(f, timeoutMillis);
    }

    private static <R> Response<R> await(CompletableFuture<Response<R>> f, long timeoutMillis) throws IOException {
        try {
            return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("no answer from kern_loader within " + timeoutMillis + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    /** {@code kern_loader_ping}: answered after everything sent before it. */
    public void ping() throws IOException, LoaderException { call(new Request.Ping()); }

    /** Adds the server of a script (path as the daemon sees it: made absolute). */
    public ServerInfo add(Path script) throws IOException, LoaderException {
        return call(new Request.Add(script.toAbsolutePath().toString()));
    }

    public void delete(String name) throws IOException, LoaderException { call(new Request.Delete(name)); }
    public void load(String name) throws IOException, LoaderException { call(new Request.Load(name)); }
    public void unload(String name) throws IOException, LoaderException { call(new Request.Unload(name)); }

    /** {@code kern_loader_abort}: the errors met while taking servers down, as (code, message). */
    public List<LoaderException> abort(boolean restart) throws IOException, LoaderException {
        return call(new Request.Abort(restart));
    }

    /** Subscribes to (or leaves) kern_loader's log ({@code kern_loader_status_port}); lines go to {@link #onLog}. */
    public void log(boolean on) throws IOException, LoaderException { call(new Request.Log(on)); }

    /** Looks up an advertised port; 123 if there is none. */
    public long lookup(String name) throws IOException, LoaderException {
        return call(new Request.Lookup(name));
    }

    /** Sends a message and waits for the server's reply. */
    public Request.Reply send(long port, int id, byte[] data) throws IOException, LoaderException {
        return call(new Request.Send(port, id, Rpc.SEND_WANTS_REPLY, data));
    }

    /** Sends a message; the future completes with the server's reply (see {@link #reply}). */
    public CompletableFuture<Response<Request.Reply>> sendAsync(long port, int id, byte[] data) throws IOException {
        return submit(new Request.Send(port, id, Rpc.SEND_WANTS_REPLY, data));
    }

    /** The reply from {@link #sendAsync}, waiting for it. */
    public Request.Reply reply(CompletableFuture<Response<Request.Reply>> f) throws IOException, LoaderException {
        return await(f).get();
    }

    /** Sends without wanting a reply; returns once the daemon has queued or delivered it. */
    public void post(long port, int id, byte[] data) throws IOException, LoaderException {
        call(new Request.Send(port, id, 0, data));
    }

    /** Runs a kernel admin command and returns its output; 124 with the problem if it fails. */
    public String admin(String line) throws IOException, LoaderException {
        return call(new Request.Admin(line));
    }

    /**
     * Runs a kernel admin listing and returns it as one JSON document ({@code -j}, protocol 4: an older daemon would
     * take {@code -j} for a word of the command, so the client refuses with 120 without sending anything).
     */
    public String adminJson(String line) throws IOException, LoaderException {
        needs(4, "admin -j");
        return call(new Request.Admin(line + " -j"));
    }

    // ---- kernel controls (protocol 2) ----

    private void needs(int v, String what) throws LoaderException {
        if (version < v)
            throw new LoaderException(LoaderError.RPC_VERSION, what + " needs protocol " + v + "; this kern_loader speaks " + version, null);
    }

    /** The kernel's registered controls: name, id, unit, flags, connected clients, owning extension. */
    public List<Request.ControlInfo> controls() throws IOException, LoaderException {
        needs(2, "ctl list");
        return call(new Request.CtlList());
    }

    /**
     * Connects to the kernel control {@code name} in kern_loader's kernel, as a {@code PF_SYSTEM} socket in that
     * process would ({@code CTLIOCGINFO}, {@code connect}); the daemon holds the connection for this client
     * until {@link RemoteControl#close} or until this client goes away. If no control has that name but an
     * advertised port does, the port's server is loaded first.
     * @param unit 0 for the first free unit
     * @throws KpiException the kernel's refusal: ENOENT (no such control), EBUSY (unit in use), EPERM (a
     *         privileged control and this client is not privileged), or the control's own
     * @throws LoaderException 120 if kern_loader is older than protocol 2; 109 if the load it triggered failed
     */
    public RemoteControl connectControl(String name, int unit) throws IOException, LoaderException, KpiException {
        needs(2, "ctl connect");
        Request.Connected c = call(new Request.CtlConnect(name, unit));
        if (c.errno() != 0) throw new KpiException(c.errno(), "connect to control " + name);
        return new RemoteControl(name, c.handle(), new ControlAddress(c.id(), c.unit()));
    }

    /**
     * A kernel-control connection held by kern_loader for this client: the same {@link ControlClient} interface
     * as an in-JVM control socket. Transport failures read as the connection being gone (ENOTCONN, -1).
     */
    public final class RemoteControl implements ControlClient {
        private final String name;
        private final int handle;
        private final ControlAddress address;
        private volatile boolean open = true;

        private RemoteControl(String name, int handle, ControlAddress address) {
            this.name = name;
            this.handle = handle;
            this.address = address;
        }

        /** The control's name. */
        public String name() { return name; }

        @Override public ControlAddress address() { return address; }

        @Override public int send(ByteBuffer data, int flags) {
            byte[] b = new byte[data.remaining()];
            data.duplicate().get(b);
            int errno = errnoOf(new Request.CtlSend(handle, flags, b));
            if (errno == 0) data.position(data.limit());
            return errno;
        }

        @Override public int receive(ByteBuffer dst, long timeout, TimeUnit unit) {
            long millis = Math.min(unit.toMillis(timeout), Rpc.MAX_CTL_WAIT_MILLIS);
            try {
                Request.CtlRecv q = new Request.CtlRecv(handle, Math.min(dst.remaining(), Rpc.MAX_CTL_BUFFER), (int) millis);
                Request.Received r = await(submit(q), millis + timeoutMillis).get();
                if (r.errno() != 0) return -1;
                dst.put(r.data());
                return r.result();
            } catch (IOException | LoaderException e) {
                return -1;
            }
        }

        @Override public int setOption(int option, byte[] value) {
            return errnoOf(new Request.CtlSetopt(handle, option, value));
        }

        @Override public int getOption(int option, byte[] buffer) {
            try {
                Request.OptionValue v = call(new Request.CtlGetopt(handle, option, buffer == null ? -1 : Math.min(buffer.length, Rpc.MAX_CTL_BUFFER)));
                if (v.errno() != 0) return -v.errno();
                if (buffer != null) System.arraycopy(v.value(), 0, buffer, 0, Math.min(v.value().length, buffer.length));
                return v.length();
            } catch (IOException | LoaderException e) {
                return -Errno.ENOTCONN;
            }
        }

        @Override public boolean isConnected() { return open && failure == null; }

        @Override public void close() {
            if (!open) return;
            try {
                call(new Request.CtlClose(handle)); // the control's disconnect has run when this returns
            } catch (IOException | LoaderException e) {
                // the daemon closes it with this client's connection anyway
            } finally {
                open = false;
            }
        }

        private int errnoOf(Request<Integer> q) {
            if (!open) return Errno.ENOTCONN;
            try {
                return call(q);
            } catch (IOException | LoaderException e) {
                return Errno.ENOTCONN;
            }
        }

        @Override public String toString() { return "kctl " + name + " unit " + address.unit() + " (through kern_loader)"; }
    }

    /** Closes the connection; the (daemon) reader thread ends on its own, pending requests fail. */
    @Override public void close() throws IOException {
        closing = true;
        ch.close();
    }
}
