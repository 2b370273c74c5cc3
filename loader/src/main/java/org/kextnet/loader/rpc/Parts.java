package org.kextnet.loader.rpc;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * A client's gathering of responses that arrive in parts (protocol 3, {@link Rpc#PART}): the parts' bytes by tag until
 * the response frame with that tag ends them. At most {@link Rpc#MAX_RESPONSE} bytes per response. Used by one reader
 * thread.
 */
final class Parts {
    private final Map<Integer, ByteArrayOutputStream> byTag = new HashMap<>();

    /** A PART frame's body (after op and tag). */
    void add(int tag, ByteBuffer body) throws IOException {
        ByteArrayOutputStream b = byTag.computeIfAbsent(tag, t -> new ByteArrayOutputStream());
        if ((long) b.size() + body.remaining() > Rpc.MAX_RESPONSE)
            throw new IOException("a response from kern_loader longer than " + Rpc.MAX_RESPONSE + " bytes");
        byte[] chunk = new byte[body.remaining()];
        body.get(chunk);
        b.write(chunk);
    }

    /** The whole body of the response with {@code tag}: the parts' bytes, then {@code last}'s (after op and tag). */
    ByteBuffer complete(int tag, ByteBuffer last) {
        ByteArrayOutputStream b = byTag.remove(tag);
        if (b == null) return last;
        byte[] rest = new byte[last.remaining()];
        last.get(rest);
        b.writeBytes(rest);
        return ByteBuffer.wrap(b.toByteArray());
    }
}
