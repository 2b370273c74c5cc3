package org.kextnet.loader.port;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

import org.kextnet.kpi.server.PortMessage;
import org.kextnet.loader.LoaderError;

/** A message in flight to a port: what a routine receives, and the one-shot path back to its sender. */
public final class Message implements PortMessage {
    private final String port;
    private final int id;
    private final byte[] data;
    private final long replyPort;
    private final ReplySink sink;
    private final AtomicBoolean replied = new AtomicBoolean();

    /** @param sink where the reply goes; null (with replyPort 0) when the sender wants none */
    public Message(String port, int id, byte[] data, long replyPort, ReplySink sink) {
        this.port = port;
        this.id = id;
        this.data = data;
        this.replyPort = sink == null ? 0 : replyPort;
        this.sink = sink;
    }

    @Override public String port() { return port; }
    @Override public int id() { return id; }
    @Override public ByteBuffer data() { return ByteBuffer.wrap(data).asReadOnlyBuffer(); }
    @Override public byte[] bytes() { return data.clone(); }
    @Override public long replyPort() { return replyPort; }

    /** The body's length. */
    public int size() { return data.length; }

    @Override public boolean reply(int id, byte[] body) {
        if (sink == null || !replied.compareAndSet(false, true)) return false;
        sink.reply(0, 0, id, body == null ? new byte[0] : body.clone(), null);
        return true;
    }

    @Override public boolean replyError(int code) {
        if (sink == null || !replied.compareAndSet(false, true)) return false;
        sink.reply(0, code, id, new byte[0], null);
        return true;
    }

    /** Whether a reply has been sent (or the message was failed). */
    public boolean replied() { return replied.get(); }

    /** Ends the message without a server reply: the sender learns {@code error} and why. */
    public void fail(LoaderError error, String detail) {
        if (sink == null || !replied.compareAndSet(false, true)) return;
        sink.reply(error.code(), 0, id, new byte[0], detail);
    }
}
