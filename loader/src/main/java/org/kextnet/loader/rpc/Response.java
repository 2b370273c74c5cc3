package org.kextnet.loader.rpc;

import java.nio.ByteBuffer;

import org.kextnet.loader.LoaderException;

/**
 * What a {@link Request} gets back, as both Java clients decode it and the daemon encodes it: status 0 and the
 * operation's result, or a kern_loader code and the daemon's message (which names the server, file and line as
 * applicable). On the wire: {@code op | 0x80}, the request's tag, {@code u16 status}, then the result or
 * {@code str message}.
 *
 * @param <R> the operation's result type
 */
public record Response<R>(int status, R result, String message) {
    public static <R> Response<R> ok(R result) {
        return new Response<>(0, result, null);
    }

    public static <R> Response<R> error(int code, String message) {
        if (code == 0) throw new IllegalArgumentException("an error needs a non-zero code");
        return new Response<>(code, null, message);
    }

    public static <R> Response<R> error(LoaderException e) {
        return error(e.code(), e.getMessage());
    }

    public boolean isOk() { return status == 0; }

    /** The result, or the refusal or failure as a {@link LoaderException} with the daemon's code and message. */
    public R get() throws LoaderException {
        if (status != 0) throw new LoaderException(status, message, null);
        return result;
    }

    /** The frame answering {@code request}, sent with {@code tag}, for a connection of the current protocol version. */
    public ByteBuffer frame(Request<R> request, int tag) {
        return frame(request, tag, Rpc.VERSION);
    }

    /** The frame answering {@code request}, sent with {@code tag}, laid out for protocol {@code version}. */
    public ByteBuffer frame(Request<R> request, int tag, int version) {
        RpcWriter w = new RpcWriter(request.op().code() | Rpc.RESPONSE, tag).version(version).u16(status);
        if (status != 0) w.str(message);
        else request.writeResult(w, result);
        return w.frame();
    }

    /** An error frame for an op given by its code (one this version may not know, or 0 when framing is lost). */
    static ByteBuffer errorFrame(int op, int tag, int code, String message) {
        return new RpcWriter(op | Rpc.RESPONSE, tag).u16(code).str(message).frame();
    }

    static ByteBuffer errorFrame(int op, int tag, LoaderException e) {
        return errorFrame(op, tag, e.code(), e.getMessage());
    }

    /**
     * Decodes the body of the response to {@code request} (after op and tag), laid out for protocol {@code version}.
     * @throws RpcFormatException if it does not decode
     */
    public static <R> Response<R> decode(Request<R> request, ByteBuffer body, int version) throws RpcFormatException {
        RpcReader r = new RpcReader(body).version(version);
        int status = r.u16();
        if (status != 0) return error(status, r.str());
        return ok(request.readResult(r));
    }
}
