package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/**
 * One client of the RPC port: the greeting, then frames in, each decoded into a {@link Request} and handed to the
 * client's {@link Session}, and frames out, written whole so frames from different threads never interleave.
 */
final class Connection {
    private final RpcServer server;
    private final SocketChannel socket;
    private final FrameChannel ch;
    private Session session;
    private volatile int version;
    private volatile boolean closed;

    Connection(RpcServer server, SocketChannel ch) {
        this.server = server;
        this.socket = ch;
        this.ch = new FrameChannel(ch);
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
                    send(Response.errorFrame(0, 0, e)); // framing lost: answer, then close
                    return;
                }
                if (f == null) return;
                handle(f);
            }
        } catch (IOException e) {
            // client went away
        } catch (RuntimeException e) {
            server.loader().log().log(3, "rpc connection: " + e);
        } finally {
            close();
        }
    }

    private boolean greet() throws IOException {
        ByteBuffer h = ch.readExactly(8);
        if (h.getInt() != Rpc.MAGIC) return false;
        int clientVersion = h.getShort() & 0xffff;
        UnixDomainPrincipal peer = socket.getOption(ExtendedSocketOptions.SO_PEERCRED);
        boolean privileged = server.policy().privileged(peer);
        int version = Math.min(clientVersion, Rpc.VERSION);
        boolean refused = version < Rpc.MIN_VERSION;
        this.version = version;
        if (!refused) session = new Session(server, this::send, privileged, peer == null ? "unknown peer" : "user " + peer.user().getName());
        RpcWriter w = new RpcWriter();
        w.i32(Rpc.MAGIC).u16(refused ? Rpc.VERSION : version).u16((privileged ? Rpc.HELLO_PRIVILEGED : 0) | (refused ? Rpc.HELLO_VERSION_REFUSED : 0))
                .i64(refused ? 0 : session.replyPort().id()).str(peer == null ? "?" : peer.user().getName());
        send(w.raw());
        return !refused;
    }

    private void handle(ByteBuffer f) {
        int code = f.get(f.position()) & 0xff;
        int tag = f.remaining() >= 5 ? f.getInt(f.position() + 1) : 0;
        Op op = Op.of(code);
        if (op != null && op.since() > version) { // as a server of the agreed version would answer
            send(Response.errorFrame(code, tag, LoaderError.RPC_UNKNOWN_OP.code(), "unknown operation 0x" + Integer.toHexString(code)
                    + " (" + op.word() + " needs protocol " + op.since() + "; this connection agreed on " + version + ")"));
            return;
        }
        Request.Call call;
        try {
            call = Request.decode(f);
        } catch (LoaderException e) {
            send(Response.errorFrame(code, tag, e));
            return;
        }
        session.handle(call.tag(), call.request());
    }

    /** Writes a frame whole; a client that cannot take it is closed. */
    private void send(ByteBuffer frame) {
        if (closed) return;
        try {
            ch.write(frame);
        } catch (IOException e) {
            close();
        }
    }

    void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        if (session != null) session.close();
        server.closed(this);
    }
}
