package org.kextnet.loader.rpc;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import org.kextnet.loader.LoaderException;

/** Reads the RPC's fields from a frame body; any shortfall or bad encoding is an {@link RpcFormatException}. */
public final class RpcReader {
    private final ByteBuffer b;

    public RpcReader(ByteBuffer b) {
        this.b = b;
    }

    /**
     * A response body: its {@code u16 status}, and the result after it if that is 0.
     * @throws LoaderException the status with the daemon's message, if it is not 0
     */
    static RpcReader response(ByteBuffer body) throws LoaderException {
        RpcReader r = new RpcReader(body);
        int status = r.u16();
        if (status != 0) throw new LoaderException(status, r.str(), null);
        return r;
    }

    public int u8() throws RpcFormatException { need(1); return b.get() & 0xff; }
    public int u16() throws RpcFormatException { need(2); return b.getShort() & 0xffff; }
    public int i32() throws RpcFormatException { need(4); return b.getInt(); }
    public long i64() throws RpcFormatException { need(8); return b.getLong(); }

    /** A count of items each at least {@code minItemBytes} long: never more than what remains. */
    public int count16(int minItemBytes) throws RpcFormatException {
        int n = u16();
        if ((long) n * minItemBytes > b.remaining()) throw new RpcFormatException("count " + n + " exceeds the frame");
        return n;
    }

    public int count32(int minItemBytes) throws RpcFormatException {
        int n = i32();
        if (n < 0 || (long) n * minItemBytes > b.remaining()) throw new RpcFormatException("count " + n + " exceeds the frame");
        return n;
    }

    public String str() throws RpcFormatException {
        int n = u16();
        need(n);
        ByteBuffer s = b.slice(b.position(), n);
        b.position(b.position() + n);
        byte[] raw = new byte[n];
        s.get(0, raw);
        boolean ascii = true;
        for (byte x : raw) ascii &= x >= 0;
        if (ascii) return new String(raw, StandardCharsets.ISO_8859_1); // the common case, without a decoder
        try {
            CharBuffer c = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(s);
            return c.toString();
        } catch (CharacterCodingException e) {
            throw new RpcFormatException("string is not UTF-8");
        }
    }

    public byte[] bytes() throws RpcFormatException {
        int n = i32();
        if (n < 0) throw new RpcFormatException("negative length");
        need(n);
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    /** The body must be fully consumed: trailing bytes are malformed. */
    public void end() throws RpcFormatException {
        if (b.hasRemaining()) throw new RpcFormatException(b.remaining() + " trailing bytes");
    }

    private void need(int n) throws RpcFormatException {
        if (n < 0 || b.remaining() < n) throw new RpcFormatException("frame too short");
    }
}
