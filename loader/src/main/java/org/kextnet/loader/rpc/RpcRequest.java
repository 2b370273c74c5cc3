package org.kextnet.loader.rpc;

import java.nio.ByteBuffer;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/** A decoded request frame. {@link #decode} is the daemon's only entry for bytes from a client. */
public sealed interface RpcRequest {
    int tag();

    record Ping(int tag) implements RpcRequest {}
    record ListServers(int tag) implements RpcRequest {}
    record Info(int tag, String name) implements RpcRequest {}
    record Add(int tag, String script) implements RpcRequest {}
    record Delete(int tag, String name) implements RpcRequest {}
    record Load(int tag, String name) implements RpcRequest {}
    record Unload(int tag, String name) implements RpcRequest {}
    record Abort(int tag, boolean restart) implements RpcRequest {}
    record Log(int tag, boolean on) implements RpcRequest {}
    record Lookup(int tag, String name) implements RpcRequest {}
    record Send(int tag, long port, int id, int flags, byte[] data) implements RpcRequest {
        public boolean wantsReply() { return (flags & Rpc.SEND_WANTS_REPLY) != 0; }
    }
    record Admin(int tag, String line) implements RpcRequest {}
    /** Version 2: the kernel's registered controls. */
    record CtlList(int tag) implements RpcRequest {}
    /** Version 2: connect to the control {@code name} on {@code unit} (0: the first free one). */
    record CtlConnect(int tag, String name, int unit) implements RpcRequest {}
    record CtlSend(int tag, int handle, int flags, byte[] data) implements RpcRequest {}
    /** Receive one message (datagram) or what is there (stream), at most {@code max} bytes, waiting {@code timeoutMillis}. */
    record CtlRecv(int tag, int handle, int max, int timeoutMillis) implements RpcRequest {}
    record CtlSetopt(int tag, int handle, int option, byte[] value) implements RpcRequest {}
    /** Get an option into at most {@code size} bytes; -1 asks only for its length. */
    record CtlGetopt(int tag, int handle, int option, int size) implements RpcRequest {}
    record CtlClose(int tag, int handle) implements RpcRequest {}

    /**
     * Decodes one frame without its length prefix: {@code u8 op, u32 tag, body}.
     * @throws RpcFormatException if it is malformed
     * @throws LoaderException 121 RPC_UNKNOWN_OP (with the tag in the message) for an op this version lacks
     */
    static RpcRequest decode(ByteBuffer frame) throws LoaderException {
        RpcReader r = new RpcReader(frame);
        int op = r.u8();
        int tag = r.i32();
        RpcRequest q = switch (op) {
            case Rpc.PING -> new Ping(tag);
            case Rpc.LIST -> new ListServers(tag);
            case Rpc.INFO -> new Info(tag, r.str());
            case Rpc.ADD -> new Add(tag, r.str());
            case Rpc.DELETE -> new Delete(tag, r.str());
            case Rpc.LOAD -> new Load(tag, r.str());
            case Rpc.UNLOAD -> new Unload(tag, r.str());
            case Rpc.ABORT -> new Abort(tag, bool(r.u8()));
            case Rpc.LOG -> new Log(tag, bool(r.u8()));
            case Rpc.LOOKUP -> new Lookup(tag, r.str());
            case Rpc.SEND -> new Send(tag, r.i64(), r.i32(), r.u8(), r.bytes());
            case Rpc.ADMIN -> new Admin(tag, r.str());
            case Rpc.CTL_LIST -> new CtlList(tag);
            case Rpc.CTL_CONNECT -> new CtlConnect(tag, r.str(), nonNegative(r.i32(), Integer.MAX_VALUE, "unit"));
            case Rpc.CTL_SEND -> new CtlSend(tag, r.i32(), r.i32(), r.bytes());
            case Rpc.CTL_RECV -> new CtlRecv(tag, r.i32(), nonNegative(r.i32(), Rpc.MAX_CTL_BUFFER, "size"),
                    nonNegative(r.i32(), Rpc.MAX_CTL_WAIT_MILLIS, "timeout"));
            case Rpc.CTL_SETOPT -> new CtlSetopt(tag, r.i32(), r.i32(), r.bytes());
            case Rpc.CTL_GETOPT -> {
                int h = r.i32(), opt = r.i32(), size = r.i32();
                if (size != -1) nonNegative(size, Rpc.MAX_CTL_BUFFER, "size");
                yield new CtlGetopt(tag, h, opt, size);
            }
            case Rpc.CTL_CLOSE -> new CtlClose(tag, r.i32());
            default -> throw new UnknownOp(op, tag);
        };
        r.end();
        return q;
    }

    private static int nonNegative(int v, int max, String what) throws RpcFormatException {
        if (v < 0 || v > max) throw new RpcFormatException(what + " " + v + " out of range 0.." + max);
        return v;
    }

    private static boolean bool(int v) throws RpcFormatException {
        if (v > 1) throw new RpcFormatException("boolean " + v);
        return v == 1;
    }

    /** An op this version does not know; the daemon answers it with 121 and goes on. */
    final class UnknownOp extends LoaderException {
        public final int op, tag;

        UnknownOp(int op, int tag) {
            super(LoaderError.RPC_UNKNOWN_OP, "unknown operation 0x" + Integer.toHexString(op) + " (this kern_loader speaks protocol " + Rpc.VERSION + ")");
            this.op = op;
            this.tag = tag;
        }
    }

    /** Encodes a request frame (the client's side). */
    static java.nio.ByteBuffer encode(RpcRequest q) {
        return switch (q) {
            case Ping p -> new RpcWriter(Rpc.PING, p.tag()).frame();
            case ListServers p -> new RpcWriter(Rpc.LIST, p.tag()).frame();
            case Info p -> new RpcWriter(Rpc.INFO, p.tag()).str(p.name()).frame();
            case Add p -> new RpcWriter(Rpc.ADD, p.tag()).str(p.script()).frame();
            case Delete p -> new RpcWriter(Rpc.DELETE, p.tag()).str(p.name()).frame();
            case Load p -> new RpcWriter(Rpc.LOAD, p.tag()).str(p.name()).frame();
            case Unload p -> new RpcWriter(Rpc.UNLOAD, p.tag()).str(p.name()).frame();
            case Abort p -> new RpcWriter(Rpc.ABORT, p.tag()).u8(p.restart() ? 1 : 0).frame();
            case Log p -> new RpcWriter(Rpc.LOG, p.tag()).u8(p.on() ? 1 : 0).frame();
            case Lookup p -> new RpcWriter(Rpc.LOOKUP, p.tag()).str(p.name()).frame();
            case Send p -> new RpcWriter(Rpc.SEND, p.tag()).i64(p.port()).i32(p.id()).u8(p.flags()).bytes(p.data()).frame();
            case Admin p -> new RpcWriter(Rpc.ADMIN, p.tag()).str(p.line()).frame();
            case CtlList p -> new RpcWriter(Rpc.CTL_LIST, p.tag()).frame();
            case CtlConnect p -> new RpcWriter(Rpc.CTL_CONNECT, p.tag()).str(p.name()).i32(p.unit()).frame();
            case CtlSend p -> new RpcWriter(Rpc.CTL_SEND, p.tag()).i32(p.handle()).i32(p.flags()).bytes(p.data()).frame();
            case CtlRecv p -> new RpcWriter(Rpc.CTL_RECV, p.tag()).i32(p.handle()).i32(p.max()).i32(p.timeoutMillis()).frame();
            case CtlSetopt p -> new RpcWriter(Rpc.CTL_SETOPT, p.tag()).i32(p.handle()).i32(p.option()).bytes(p.value()).frame();
            case CtlGetopt p -> new RpcWriter(Rpc.CTL_GETOPT, p.tag()).i32(p.handle()).i32(p.option()).i32(p.size()).frame();
            case CtlClose p -> new RpcWriter(Rpc.CTL_CLOSE, p.tag()).i32(p.handle()).frame();
        };
    }
}
