package org.kextnet.kernel.domain;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.net.Contexts;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.socket.DatagramQueue;
import org.kextnet.kernel.socket.KernelSocket;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.domain.ProtocolSocket;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.socket.SockAddr;

/**
 * A socket of a protocol an extension added: the socket API and socket filters of {@link KernelSocket}, with
 * each request served by the protocol's user requests (on the caller's thread, guarded, never under the
 * socket lock), and what the protocol {@link #deliver delivers} waiting in a bounded receive queue.
 * Thread-safe; {@link #receive} parks.
 */
public final class ProtocolSocketImpl extends KernelSocket implements ProtocolSocket {
    /** Datagrams queued before the protocol's deliveries fail with ENOBUFS. */
    public static final int QUEUE_LIMIT = 256;

    private final Domains.Entry entry;
    private final DatagramQueue queue = new DatagramQueue(lock, QUEUE_LIMIT);
    private volatile Object pcb;
    private volatile SockAddr local, remote;

    ProtocolSocketImpl(SocketFilters registry, Domains.Entry entry) {
        super(registry, entry.domain(), entry.pr.type(), entry.pr.protocol());
        this.entry = entry;
    }

    // ---- ProtocolSocket: the protocol's view ----

    @Override public SockAddr sockName() { SockAddr l = local; return l == null ? null : l.copy(); }
    @Override public SockAddr peerName() { SockAddr r = remote; return r == null ? null : r.copy(); }
    @Override public Object pcb() { return pcb; }
    @Override public void setPcb(Object p) { pcb = p; }
    @Override public void setLocalAddress(SockAddr a) { local = a == null ? null : a.copy(); }
    @Override public void setRemoteAddress(SockAddr a) { remote = a == null ? null : a.copy(); }

    /**
     * The protocol appends a datagram ({@code sbappendaddr}): the data-in filters run first. Takes ownership.
     * @return 0 (queued, or taken or dropped by a filter), ENOBUFS (queue full; dropped), EBADF (closed;
     *         dropped)
     */
    @Override public int deliver(SockAddr from, Mbuf data) {
        Packet m = (Packet) data;
        int fromAddr = from == null ? 0 : from.ipv4(), fromPort = from == null ? 0 : from.port();
        Contexts contexts = registry.contexts();
        PacketContext ctx = contexts.acquire();
        try {
            if (filterIn(ctx, m, fromAddr, fromPort) != 0) return 0; // a filter took or dropped it
        } finally {
            contexts.release(ctx);
        }
        int r = protoAppend(m, fromAddr, fromPort);
        if (r != 0) m.free();
        return r;
    }

    // ---- the application's side ----

    /** Sends the remaining bytes of {@code data} to {@code to} (null: the connected peer) through the protocol. */
    public int send(ByteBuffer data, SockAddr to) throws SocketError {
        checkOpen();
        int len = data.remaining();
        Packet m = registry.contexts().buffers().alloc(len);
        if (m == null) throw new SocketError(Errno.ENOBUFS, "no packet buffers");
        m.setLength(len);
        MemorySegment.copy(MemorySegment.ofBuffer(data), 0, m.segment(), m.offset(), len);
        data.position(data.position() + len);
        int r = registry.contexts().call(ctx -> output(ctx, m, to, 0));
        if (r != 0) throw new SocketError(r, "send");
        return len;
    }

    /**
     * Receives one datagram into {@code dst} (truncating), waiting up to {@code timeout}.
     * @return the sender, or null if none came in time (or none will, after shutdown of reading)
     */
    public SockAddr receive(ByteBuffer dst, long timeout, TimeUnit unit) throws SocketError, InterruptedException {
        DatagramQueue.Datagram d = queue.take(unit.toNanos(timeout));
        if (d == null) return null;
        try {
            DatagramQueue.copyOut(d.data(), dst);
            return SockAddr.of(d.fromAddr(), d.fromPort());
        } finally {
            d.data().free();
        }
    }

    /** Datagrams waiting. */
    public int available() { return queue.size(); }

    // ---- the requests, served by the extension's protocol ----

    /** Calls one of the protocol's requests; a throw is counted as a fault and fails the request with EIO. */
    private int request(String name, IntSupplier call) {
        PacketContext ctx = registry.contexts().acquire();
        ctx.enter(); // removal's final callback waits for this call
        try {
            return entry.call(ctx.calls, name, call, Errno.EIO);
        } finally {
            ctx.exit();
            registry.contexts().release(ctx);
        }
    }

    @Override protected void protoBind(SockAddr address) throws SocketError {
        int r = request("bind", () -> entry.pr.bind(this, address));
        if (r != 0) throw new SocketError(r, "bind");
    }

    @Override protected void protoConnect(SockAddr address) throws SocketError {
        soisconnecting();
        int r = request("connect", () -> entry.pr.connect(this, address));
        if (r != 0) {
            soisdisconnected();
            throw new SocketError(r, "connect");
        }
        soisconnected();
    }

    @Override protected void protoDisconnect() {
        remote = null;
        soisdisconnected();
    }

    @Override protected void protoShutdown(int how) {
        request("shutdown", () -> entry.pr.shutdown(this, how));
    }

    @Override protected void protoFlushReceive() { queue.flush(); }

    @Override protected void protoCantReceiveMore() { queue.markEof(); }

    @Override protected int protoSend(PacketContext ctx, Packet payload, SockAddr to, int flags) {
        int gen = payload.generation();
        CallSlot s = ctx.calls;
        ctx.enter();
        try {
            s.enter(entry);
            int r = entry.pr.send(this, payload, to, flags); // takes ownership
            s.exit();
            return r;
        } catch (Throwable t) {
            s.threw(t);
            entry.fault("send", t);
            if (!payload.isFree() && payload.generation() == gen) payload.free(); // it threw holding the data: drop
            return Errno.EIO;
        } finally {
            ctx.exit();
        }
    }

    @Override protected int protoAppend(Packet payload, int fromAddr, int fromPort) {
        if (queue.offer(payload, fromAddr, fromPort)) return 0;
        return isClosed() ? Errno.EBADF : Errno.ENOBUFS;
    }

    @Override protected void protoClose() {
        queue.close();
        request("detach", () -> {
            entry.pr.detach(this);
            return 0;
        });
        entry.socketClosed();
    }

    @Override public String toString() { return "socket " + entry.name(); }
}
