package org.kextnet.loader.rpc;

import java.nio.ByteBuffer;

/**
 * What the daemon sends a client unasked, with tag 0 (docs/rpc.md, "Events"). Clients ignore an event op they do
 * not know.
 */
public sealed interface Event {
    /** The frame, length prefix included. */
    ByteBuffer frame();

    /** A line of kern_loader's log, after a {@link Request.Log} subscription. */
    record Log(int level, long millis, String text) implements Event {
        @Override public ByteBuffer frame() { return new RpcWriter(Rpc.EVENT_LOG, 0).u8(level).i64(millis).str(text).frame(); }
    }

    /** A server sent a message to this client's reply port ({@code KernServ.send}). */
    record PortMessage(long replyPort, int id, byte[] data) implements Event {
        @Override public ByteBuffer frame() { return new RpcWriter(Rpc.EVENT_PORT_MSG, 0).i64(replyPort).i32(id).bytes(data).frame(); }
    }

    /** Version 3: the daemon is about to close the connection: {@code code} 125 (it is shutting down), 128 (to make room) or 129 (a time-out). */
    record Closing(int code, String reason) implements Event {
        @Override public ByteBuffer frame() { return new RpcWriter(Rpc.EVENT_CLOSING, 0).u16(code).str(reason).frame(); }
    }

    /**
     * Decodes an event's body (after op and tag).
     * @return null for an op that is not an event this version knows
     */
    static Event decode(int op, ByteBuffer body) throws RpcFormatException {
        RpcReader r = new RpcReader(body);
        return switch (op) {
            case Rpc.EVENT_LOG -> new Log(r.u8(), r.i64(), r.str());
            case Rpc.EVENT_PORT_MSG -> new PortMessage(r.i64(), r.i32(), r.bytes());
            case Rpc.EVENT_CLOSING -> new Closing(r.u16(), r.str());
            default -> null;
        };
    }
}
