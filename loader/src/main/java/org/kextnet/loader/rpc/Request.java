package org.kextnet.loader.rpc;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.ServerInfo;

/**
 * One RPC operation, the same value from the command line to the daemon and back: a record per operation that knows
 * its {@link Op} (wire code, version, privilege), how its body is written, and how the result of its successful
 * {@link Response} is written and read ({@code R}). kl_util, {@code kextnet port/ctl/admin}, {@link KernLoaderClient}
 * and {@link KernLoaderQuery} build these; the daemon decodes them with {@link #decode}, its only entry for bytes
 * from a client, and answers each with a {@link Response} of the same type. Layouts: docs/rpc.md.
 *
 * @param <R> the result of a successful response ({@link Void} when it carries none)
 */
public sealed interface Request<R> {
    /** The operation: wire code, name, version, privilege. */
    Op op();

    /** Writes the body, after op and tag. */
    void writeBody(RpcWriter w);

    /** Writes a successful response's result, after its {@code u16 0} status. */
    void writeResult(RpcWriter w, R result);

    /** Reads a successful response's result, after its {@code u16 0} status. */
    R readResult(RpcReader r) throws RpcFormatException;

    /** The request frame with {@code tag}, length prefix included. */
    default ByteBuffer frame(int tag) {
        RpcWriter w = new RpcWriter(op().code(), tag);
        writeBody(w);
        return w.frame();
    }

    /** A decoded request frame: the client's tag and the request. */
    record Call(int tag, Request<?> request) {
        /** The frame again, length prefix included. */
        public ByteBuffer frame() { return request.frame(tag); }
    }

    /**
     * Decodes one frame without its length prefix: {@code u8 op, u32 tag, body}.
     * @throws RpcFormatException 122 if it is malformed (short, trailing bytes, bad UTF-8, a value out of range)
     * @throws UnknownOp 121 (with the tag) for an op this version does not know
     */
    static Call decode(ByteBuffer frame) throws LoaderException {
        RpcReader r = new RpcReader(frame);
        int code = r.u8();
        int tag = r.i32();
        Op op = Op.of(code);
        if (op == null) throw new UnknownOp(code, tag);
        Request<?> q = switch (op) {
            case PING -> new Ping();
            case LIST -> new ListServers();
            case INFO -> new Info(r.str());
            case ADD -> new Add(r.str());
            case DELETE -> new Delete(r.str());
            case LOAD -> new Load(r.str());
            case UNLOAD -> new Unload(r.str());
            case ABORT -> new Abort(r.bool());
            case LOG -> new Log(r.bool());
            case LOOKUP -> new Lookup(r.str());
            case SEND -> new Send(r.i64(), r.i32(), r.u8(), r.bytes());
            case ADMIN -> new Admin(r.str());
            case CTL_LIST -> new CtlList();
            case CTL_CONNECT -> new CtlConnect(r.str(), r.i32(0, Integer.MAX_VALUE, "unit"));
            case CTL_SEND -> new CtlSend(r.i32(), r.i32(), r.bytes());
            case CTL_RECV -> new CtlRecv(r.i32(), r.i32(0, Rpc.MAX_CTL_BUFFER, "size"), r.i32(0, Rpc.MAX_CTL_WAIT_MILLIS, "timeout"));
            case CTL_SETOPT -> new CtlSetopt(r.i32(), r.i32(), r.bytes());
            case CTL_GETOPT -> new CtlGetopt(r.i32(), r.i32(), r.i32(-1, Rpc.MAX_CTL_BUFFER, "size"));
            case CTL_CLOSE -> new CtlClose(r.i32());
        };
        r.end();
        return new Call(tag, q);
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

    // ---- result shapes shared by several operations ----

    /** An operation whose success carries nothing. */
    sealed interface NoResult extends Request<Void> {
        @Override default void writeResult(RpcWriter w, Void result) {}
        @Override default Void readResult(RpcReader r) { return null; }
    }

    /** A request on one server by name, whose success carries nothing (delete, load, unload). */
    sealed interface OnServer extends NoResult {
        String name();
        @Override default void writeBody(RpcWriter w) { w.str(name()); }
    }

    /** An operation answered with one server's info. */
    sealed interface InfoResult extends Request<ServerInfo> {
        @Override default void writeResult(RpcWriter w, ServerInfo result) { InfoCodec.write(w, result); }
        @Override default ServerInfo readResult(RpcReader r) throws RpcFormatException { return InfoCodec.read(r); }
    }

    /** A kernel-control operation answered with the kernel's errno alone (0 for success). */
    sealed interface ErrnoResult extends Request<Integer> {
        @Override default void writeResult(RpcWriter w, Integer errno) { w.i32(errno); }
        @Override default Integer readResult(RpcReader r) throws RpcFormatException { return r.i32(); }
    }

    // ---- the operations ----

    /** Answered after everything sent to this client before it. */
    record Ping() implements NoResult {
        @Override public Op op() { return Op.PING; }
        @Override public void writeBody(RpcWriter w) {}
    }

    /** Every server not deallocated, with its full info. */
    record ListServers() implements Request<List<ServerInfo>> {
        @Override public Op op() { return Op.LIST; }
        @Override public void writeBody(RpcWriter w) {}

        @Override public void writeResult(RpcWriter w, List<ServerInfo> all) {
            w.i32(all.size());
            for (ServerInfo i : all) InfoCodec.write(w, i);
        }

        @Override public List<ServerInfo> readResult(RpcReader r) throws RpcFormatException { return InfoCodec.readList(r); }
    }

    record Info(String name) implements InfoResult {
        @Override public Op op() { return Op.INFO; }
        @Override public void writeBody(RpcWriter w) { w.str(name); }
    }

    /** Adds the server of a script; {@code script} is a path as the daemon sees it (absolute). */
    record Add(String script) implements InfoResult {
        @Override public Op op() { return Op.ADD; }
        @Override public void writeBody(RpcWriter w) { w.str(script); }
    }

    record Delete(String name) implements OnServer {
        @Override public Op op() { return Op.DELETE; }
    }

    record Load(String name) implements OnServer {
        @Override public Op op() { return Op.LOAD; }
    }

    record Unload(String name) implements OnServer {
        @Override public Op op() { return Op.UNLOAD; }
    }

    /** Unloads and deallocates everything; without {@code restart} the daemon exits after answering. */
    record Abort(boolean restart) implements Request<List<LoaderException>> {
        @Override public Op op() { return Op.ABORT; }
        @Override public void writeBody(RpcWriter w) { w.u8(restart ? 1 : 0); }

        @Override public void writeResult(RpcWriter w, List<LoaderException> errors) {
            w.i32(errors.size());
            for (LoaderException e : errors) w.u16(e.code()).str(e.getMessage());
        }

        @Override public List<LoaderException> readResult(RpcReader r) throws RpcFormatException {
            int n = r.count32(4);
            List<LoaderException> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) out.add(new LoaderException(r.u16(), r.str(), null));
            return out;
        }
    }

    /** Subscribes to (or leaves) kern_loader's log: LOG events follow. */
    record Log(boolean on) implements NoResult {
        @Override public Op op() { return Op.LOG; }
        @Override public void writeBody(RpcWriter w) { w.u8(on ? 1 : 0); }
    }

    /** An advertised port's id. */
    record Lookup(String name) implements Request<Long> {
        @Override public Op op() { return Op.LOOKUP; }
        @Override public void writeBody(RpcWriter w) { w.str(name); }
        @Override public void writeResult(RpcWriter w, Long port) { w.i64(port); }
        @Override public Long readResult(RpcReader r) throws RpcFormatException { return r.i64(); }
    }

    /** A server's reply to a message: its return code (0 = success), message id and body. */
    record Reply(int code, int id, byte[] data) {}

    /** A message to a port; answered with the server's reply if {@link #wantsReply}, else once it is queued. */
    record Send(long port, int id, int flags, byte[] data) implements Request<Reply> {
        @Override public Op op() { return Op.SEND; }
        public boolean wantsReply() { return (flags & Rpc.SEND_WANTS_REPLY) != 0; }
        @Override public void writeBody(RpcWriter w) { w.i64(port).i32(id).u8(flags).bytes(data); }
        @Override public void writeResult(RpcWriter w, Reply r) { w.i32(r.code()).i32(r.id()).bytes(r.data()); }
        @Override public Reply readResult(RpcReader r) throws RpcFormatException { return new Reply(r.i32(), r.i32(), r.bytes()); }
    }

    /** A kernel admin command line; the result is its output, of any length from protocol 3 ({@link RpcWriter#text}). */
    record Admin(String line) implements Request<String> {
        @Override public Op op() { return Op.ADMIN; }
        @Override public void writeBody(RpcWriter w) { w.str(line); }
        @Override public void writeResult(RpcWriter w, String output) { w.text(output); }
        @Override public String readResult(RpcReader r) throws RpcFormatException { return r.text(); }
    }

    /** A registered kernel control, as CTL_LIST lists it. */
    record ControlInfo(String name, int id, int unit, int flags, int clients, String owner) {}

    /** Version 2: the kernel's registered controls. */
    record CtlList() implements Request<List<ControlInfo>> {
        @Override public Op op() { return Op.CTL_LIST; }
        @Override public void writeBody(RpcWriter w) {}

        @Override public void writeResult(RpcWriter w, List<ControlInfo> all) {
            w.i32(all.size());
            for (ControlInfo c : all) w.str(c.name()).i32(c.id()).i32(c.unit()).i32(c.flags()).i32(c.clients()).str(c.owner());
        }

        @Override public List<ControlInfo> readResult(RpcReader r) throws RpcFormatException {
            int n = r.count32(20);
            List<ControlInfo> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) out.add(new ControlInfo(r.str(), r.i32(), r.i32(), r.i32(), r.i32(), r.str()));
            return out;
        }
    }

    /** CTL_CONNECT's result: the kernel's errno, and if 0 the connection's handle and the address connected to. */
    record Connected(int errno, int handle, int id, int unit) {
        public static Connected refused(int errno) { return new Connected(errno, 0, 0, 0); }
    }

    /** Version 2: connect to the control {@code name} on {@code unit} (0: the first free one). */
    record CtlConnect(String name, int unit) implements Request<Connected> {
        @Override public Op op() { return Op.CTL_CONNECT; }
        @Override public void writeBody(RpcWriter w) { w.str(name).i32(unit); }
        @Override public void writeResult(RpcWriter w, Connected c) { w.i32(c.errno()).i32(c.handle()).i32(c.id()).i32(c.unit()); }
        @Override public Connected readResult(RpcReader r) throws RpcFormatException { return new Connected(r.i32(), r.i32(), r.i32(), r.i32()); }
    }

    record CtlSend(int handle, int flags, byte[] data) implements ErrnoResult {
        @Override public Op op() { return Op.CTL_SEND; }
        @Override public void writeBody(RpcWriter w) { w.i32(handle).i32(flags).bytes(data); }
    }

    /** CTL_RECV's result: the kernel's errno, {@code recv}'s result (bytes, 0 on time-out, -1 closed) and the data. */
    record Received(int errno, int result, byte[] data) {}

    /** Receive one message (datagram) or what is there (stream), at most {@code max} bytes, waiting {@code timeoutMillis}. */
    record CtlRecv(int handle, int max, int timeoutMillis) implements Request<Received> {
        @Override public Op op() { return Op.CTL_RECV; }
        @Override public void writeBody(RpcWriter w) { w.i32(handle).i32(max).i32(timeoutMillis); }
        @Override public void writeResult(RpcWriter w, Received r) { w.i32(r.errno()).i32(r.result()).bytes(r.data()); }
        @Override public Received readResult(RpcReader r) throws RpcFormatException { return new Received(r.i32(), r.i32(), r.bytes()); }
    }

    record CtlSetopt(int handle, int option, byte[] value) implements ErrnoResult {
        @Override public Op op() { return Op.CTL_SETOPT; }
        @Override public void writeBody(RpcWriter w) { w.i32(handle).i32(option).bytes(value); }
    }

    /** CTL_GETOPT's result: the kernel's errno, the option's length, and at most the asked size of its value. */
    record OptionValue(int errno, int length, byte[] value) {}

    /** Get an option into at most {@code size} bytes; -1 asks only for its length. */
    record CtlGetopt(int handle, int option, int size) implements Request<OptionValue> {
        @Override public Op op() { return Op.CTL_GETOPT; }
        @Override public void writeBody(RpcWriter w) { w.i32(handle).i32(option).i32(size); }
        @Override public void writeResult(RpcWriter w, OptionValue v) { w.i32(v.errno()).i32(v.length()).bytes(v.value()); }
        @Override public OptionValue readResult(RpcReader r) throws RpcFormatException { return new OptionValue(r.i32(), r.i32(), r.bytes()); }
    }

    record CtlClose(int handle) implements ErrnoResult {
        @Override public Op op() { return Op.CTL_CLOSE; }
        @Override public void writeBody(RpcWriter w) { w.i32(handle); }
    }
}
