package org.kextnet.loader.rpc;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads the RPC's fields from a frame body; any shortfall or bad encoding is an {@link RpcFormatException}.
 * It decodes from a byte array with plain arithmetic rather than through {@code ByteBuffer}'s accessors: in a
 * fresh JVM the code runs interpreted, and {@code kl_util -s} decodes a hundred server infos with it (each
 * {@code ByteBuffer.getInt} is a chain of a dozen interpreted calls; this is a few bytecodes).
 */
public final class RpcReader {
    private final byte[] a;
    private int p;
    private final int end;
    /** The protocol version of the connection the frame came on (what {@link #text} reads depends on it). */
    private int version = Rpc.VERSION;

    /** Reads the bytes from {@code b}'s position to its limit; {@code b}'s own position does not move. */
    public RpcReader(ByteBuffer b) {
        if (b.hasArray()) {
            a = b.array();
            p = b.arrayOffset() + b.position();
            end = b.arrayOffset() + b.limit();
        } else { // read-only or direct: a copy
            a = new byte[b.remaining()];
            b.get(b.position(), a);
            p = 0;
            end = a.length;
        }
    }

    public int u8() throws RpcFormatException { need(1); return a[p++] & 0xff; }

    public int u16() throws RpcFormatException {
        need(2);
        int v = (a[p] & 0xff) << 8 | a[p + 1] & 0xff;
        p += 2;
        return v;
    }

    public int i32() throws RpcFormatException {
        need(4);
        int v = a[p] << 24 | (a[p + 1] & 0xff) << 16 | (a[p + 2] & 0xff) << 8 | a[p + 3] & 0xff;
        p += 4;
        return v;
    }

    /** An {@code i32} that must lie in {@code min..max}; {@code what} names it in the error. */
    public int i32(int min, int max, String what) throws RpcFormatException {
        int v = i32();
        if (v < min || v > max) throw new RpcFormatException(what + " " + v + " out of range " + min + ".." + max);
        return v;
    }

    /** A {@code u8} that must be 0 or 1. */
    public boolean bool() throws RpcFormatException {
        int v = u8();
        if (v > 1) throw new RpcFormatException("boolean " + v);
        return v == 1;
    }

    public long i64() throws RpcFormatException {
        long hi = i32();
        return hi << 32 | i32() & 0xffffffffL;
    }

    /** A count of items each at least {@code minItemBytes} long: never more than what remains. */
    public int count16(int minItemBytes) throws RpcFormatException {
        int n = u16();
        if ((long) n * minItemBytes > end - p) throw new RpcFormatException("count " + n + " exceeds the frame");
        return n;
    }

    public int count32(int minItemBytes) throws RpcFormatException {
        int n = i32();
        if (n < 0 || (long) n * minItemBytes > end - p) throw new RpcFormatException("count " + n + " exceeds the frame");
        return n;
    }

    public String str() throws RpcFormatException {
        int n = u16();
        need(n);
        int s = p;
        p += n;
        for (int i = s; i < p; i++) {
            if (a[i] < 0) return utf8(s, n);
        }
        return new String(a, s, n, StandardCharsets.ISO_8859_1); // the common case, without a decoder
    }

    private String utf8(int s, int n) throws RpcFormatException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(a, s, n)).toString();
        } catch (CharacterCodingException e) {
            throw new RpcFormatException("string is not UTF-8");
        }
    }

    /** For a connection that agreed on {@code v}. */
    public RpcReader version(int v) {
        version = v;
        return this;
    }

    /** The protocol version the frame is laid out for. */
    public int version() { return version; }

    /** Text as {@link RpcWriter#text} writes it for this reader's version. */
    public String text() throws RpcFormatException {
        if (version < 3) return str();
        int n = i32();
        if (n < 0) throw new RpcFormatException("negative length");
        need(n);
        int s = p;
        p += n;
        return utf8(s, n);
    }

    public byte[] bytes() throws RpcFormatException {
        int n = i32();
        if (n < 0) throw new RpcFormatException("negative length");
        need(n);
        p += n;
        return Arrays.copyOfRange(a, p - n, p);
    }

    /** The body must be fully consumed: trailing bytes are malformed. */
    public void end() throws RpcFormatException {
        if (p < end) throw new RpcFormatException(end - p + " trailing bytes");
    }

    private void need(int n) throws RpcFormatException {
        if (n < 0 || end - p < n) throw new RpcFormatException("frame too short");
    }
}
