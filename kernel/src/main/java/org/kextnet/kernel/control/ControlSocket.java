package org.kextnet.kernel.control;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.control.ControlAddress;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlKpi;

/**
 * One connection to a kernel control, seen from both ends: the client's socket ({@link ControlClient}) and
 * the extension's per-unit view ({@link ControlConnection}). Messages the extension enqueues wait in a
 * receive queue bounded by the control's receive size; a full queue makes the enqueue fail with ENOBUFS.
 * The queue's lock is never held while the control's callbacks run.
 */
public final class ControlSocket implements ControlClient, ControlConnection {
    private final KernelControlEntry control;
    private final int unit;
    private final boolean privileged;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private int queuedBytes;
    private int readOffset;               // stream controls: bytes already read from the head message
    private volatile boolean open;
    private volatile Object unitInfo;

    ControlSocket(KernelControlEntry control, int unit, boolean privileged) {
        this.control = control;
        this.unit = unit;
        this.privileged = privileged;
    }

    void connected() { open = true; }

    // ---- the extension's view ----
    @Override public int id() { return control.id(); }
    @Override public int unit() { return unit; }
    @Override public boolean privileged() { return privileged; }
    @Override public Object unitInfo() { return unitInfo; }
    @Override public void setUnitInfo(Object info) { unitInfo = info; }
    @Override public boolean isConnected() { return open; }

    /** {@code ctl_enqueuedata}: queues a copy of {@code len} bytes of {@code data}. */
    public int enqueue(byte[] data, int flags) {
        int limit = control.params().recvSize();
        if (data.length > limit) return Errno.EMSGSIZE;
        lock.lock();
        try {
            if (!open) return Errno.EINVAL;
            if (queuedBytes + data.length > limit) return Errno.ENOBUFS;
            queue.add(data);
            queuedBytes += data.length;
            if ((flags & ControlKpi.DATA_NOWAKEUP) == 0) readable.signalAll();
            return 0;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes the extension may still enqueue. */
    public int space() {
        lock.lock();
        try {
            return open ? control.params().recvSize() - queuedBytes : -1;
        } finally {
            lock.unlock();
        }
    }

    // ---- the client's view ----
    @Override public ControlAddress address() { return new ControlAddress(control.id(), unit); }

    @Override public int send(ByteBuffer data, int flags) {
        if (!open || control.isSilenced()) return Errno.ENOTCONN;
        int len = data.remaining();
        if (len > control.params().sendSize()) return Errno.EMSGSIZE;
        Packet m = control.registry.buffers().alloc(len);
        if (m == null) return Errno.ENOBUFS;
        m.setLength(len);
        java.lang.foreign.MemorySegment.copy(java.lang.foreign.MemorySegment.ofBuffer(data), 0, m.segment(), m.offset(), len);
        data.position(data.position() + len);
        // The data belongs to the control once passed: a control that threw or is stuck keeps it.
        return control.call("send", () -> control.control.send(this, m, flags), Errno.EIO);
    }

    @Override public int receive(ByteBuffer dst, long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        int n;
        lock.lock();
        try {
            while (queue.isEmpty()) {
                if (!open) return -1;
                if (nanos <= 0) return 0;
                nanos = readable.awaitNanos(nanos);
            }
            n = control.isStream() ? readStream(dst) : readDatagram(dst);
        } finally {
            lock.unlock();
        }
        control.run("received", () -> control.control.received(this, 0));
        return n;
    }

    private int readDatagram(ByteBuffer dst) {
        byte[] msg = queue.poll();
        queuedBytes -= msg.length;
        int n = Math.min(msg.length, dst.remaining());
        dst.put(msg, 0, n);
        return n;
    }

    private int readStream(ByteBuffer dst) {
        int n = 0;
        while (!queue.isEmpty() && dst.hasRemaining()) {
            byte[] head = queue.peek();
            int k = Math.min(head.length - readOffset, dst.remaining());
            dst.put(head, readOffset, k);
            readOffset += k;
            n += k;
            if (readOffset == head.length) {
                queue.poll();
                queuedBytes -= head.length;
                readOffset = 0;
            }
        }
        return n;
    }

    @Override public int setOption(int option, byte[] value) {
        if (!open) return Errno.ENOTCONN;
        byte[] copy = value.clone();
        return control.call("setopt", () -> control.control.setOption(this, option, copy), Errno.EIO);
    }

    @Override public int getOption(int option, byte[] buffer) {
        if (!open) return -Errno.ENOTCONN;
        return control.call("getopt", () -> control.control.getOption(this, option, buffer), -Errno.EIO);
    }

    @Override public void close() {
        lock.lock();
        try {
            if (!open) return;
            open = false;
            queue.clear();
            queuedBytes = 0;
            readable.signalAll();
        } finally {
            lock.unlock();
        }
        control.disconnected(this);
    }

    @Override public String toString() { return "kctl " + control.name() + " unit " + unit; }
}
