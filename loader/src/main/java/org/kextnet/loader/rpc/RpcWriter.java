package org.kextnet.loader.rpc;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Builds one frame: the length is filled in by {@link #frame}. */
public final class RpcWriter {
    private byte[] a = new byte[64];
    private int n = 4; // room for the length
    /** The protocol version of the connection the frame is for (what {@link #text} writes depends on it). */
    private int version = Rpc.VERSION;

    /** Starts a frame with {@code op} and {@code tag}. */
    public RpcWriter(int op, int tag) {
        u8(op);
        i32(tag);
    }

    /** A writer for a bare byte sequence (the greeting): no length, no op. */
    RpcWriter() {
        n = 0;
    }

    private void room(int k) {
        if (n + k > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, n + k));
    }

    public RpcWriter u8(int v) { room(1); a[n++] = (byte) v; return this; }
    public RpcWriter u16(int v) { room(2); a[n++] = (byte) (v >>> 8); a[n++] = (byte) v; return this; }
    public RpcWriter i32(int v) { room(4); for (int s = 24; s >= 0; s -= 8) a[n++] = (byte) (v >>> s); return this; }
    public RpcWriter i64(long v) { room(8); for (int s = 56; s >= 0; s -= 8) a[n++] = (byte) (v >>> s); return this; }

    /** A string, truncated to {@link Rpc#MAX_STRING} bytes at a character boundary. */
    public RpcWriter str(String s) {
        byte[] u = (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
        int len = u.length;
        if (len > Rpc.MAX_STRING) {
            len = Rpc.MAX_STRING;
            while (len > 0 && (u[len] & 0xC0) == 0x80) len--;
        }
        u16(len);
        room(len);
        System.arraycopy(u, 0, a, n, len);
        n += len;
        return this;
    }

    /** For a connection that agreed on {@code v}. */
    public RpcWriter version(int v) {
        version = v;
        return this;
    }

    /** The protocol version the frame is laid out for. */
    public int version() { return version; }

    /**
     * Text of any length: from protocol 3 {@code u32} length + UTF-8; before it a {@code str}, cut at
     * {@link Rpc#MAX_STRING} bytes as protocols 1 and 2 carry it.
     */
    public RpcWriter text(String s) {
        if (version < 3) return str(s);
        return bytes((s == null ? "" : s).getBytes(StandardCharsets.UTF_8));
    }

    public RpcWriter bytes(byte[] b) {
        i32(b.length);
        room(b.length);
        System.arraycopy(b, 0, a, n, b.length);
        n += b.length;
        return this;
    }

    /** Bytes as they are, from {@code b[from..from+n)} (a part of another frame). */
    RpcWriter raw(ByteBuffer b, int from, int n) {
        room(n);
        b.get(from, a, this.n, n);
        this.n += n;
        return this;
    }

    /** The finished frame, length prefix set, ready to write. */
    public ByteBuffer frame() {
        int len = n - 4;
        a[0] = (byte) (len >>> 24); a[1] = (byte) (len >>> 16); a[2] = (byte) (len >>> 8); a[3] = (byte) len;
        return ByteBuffer.wrap(a, 0, n);
    }

    ByteBuffer raw() { return ByteBuffer.wrap(a, 0, n); }
}
