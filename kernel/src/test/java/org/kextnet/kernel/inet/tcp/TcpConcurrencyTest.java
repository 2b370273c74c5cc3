package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.stat.Stats;
import org.kextnet.kernel.sync.Clock;
import org.kextnet.kernel.sync.TimerWheel;
import org.kextnet.kernel.wire.Checksum;
import org.kextnet.kernel.wire.Ipv4;

/**
 * The engine on real threads, as the socket layer will use it: packet threads deliver segments, a timer
 * thread advances the wheel on the system clock, and application threads block in read and write on
 * conditions the upcall signals. Checks that the locking rules hold under concurrency: no deadlock (every
 * wait is bounded), upcalls never concurrent for one connection and never under its lock, every byte intact.
 */
class TcpConcurrencyTest {
    static final int A = Ipv4.parse("10.0.0.1"), B = Ipv4.parse("10.0.0.2");
    static final long BYTES = 8_000_000;

    /** One direction of the wire: a queue and the thread that delivers it, losing 1 % of segments. */
    static final class Wire implements TcpNetwork {
        final LinkedBlockingQueue<Packet> queue = new LinkedBlockingQueue<>();
        final int self, peer;
        final SplittableRandom loss;
        volatile TcpStack to;

        Wire(int self, int peer, long seed) {
            this.self = self;
            this.peer = peer;
            this.loss = new SplittableRandom(seed);
        }

        @Override public int output(Packet m, long sh, long sl, long dh, long dl) {
            queue.add(m);
            return 0;
        }

        void run() {
            try {
                while (true) {
                    Packet m = queue.take();
                    if (m.length() == 0) { m.free(); return; } // the stop marker
                    boolean drop;
                    synchronized (loss) { drop = loss.nextInt(100) == 0; }
                    if (drop) m.free();
                    else to.input(m, 0, TcpEndpoint.v4(self), 0, TcpEndpoint.v4(peer));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override public long pseudoHeaderSum(long sh, long sl, long dh, long dl, int len) {
            return Checksum.pseudoHeader((int) sl, (int) dl, Ipv4.PROTO_TCP, len);
        }
        @Override public int routeMtu(long h, long l) { return 1500; }
        @Override public boolean sourceAddress(long h, long l, long[] out) { out[0] = 0; out[1] = TcpEndpoint.v4(self); return true; }
        @Override public boolean isLocalAddress(long h, long l) { return l == TcpEndpoint.v4(self); }
    }

    /** Blocking read and write over the non-blocking engine, woken by the upcall: what a socket layer does. */
    static final class Blocking implements TcpUpcall {
        final ReentrantLock lock = new ReentrantLock();
        final Condition changed = lock.newCondition();
        final AtomicInteger inside = new AtomicInteger();
        final AtomicReference<String> violation;
        volatile TcpConnection c;

        Blocking(AtomicReference<String> violation) { this.violation = violation; }

        @Override public void events(TcpConnection conn, int events) {
            if (inside.incrementAndGet() != 1) violation.compareAndSet(null, "concurrent upcalls");
            if (Thread.holdsLock(conn.lock)) violation.compareAndSet(null, "upcall under the connection lock");
            lock.lock();
            try {
                changed.signalAll();
            } finally {
                lock.unlock();
                inside.decrementAndGet();
            }
        }

        int read(ByteBuffer b) throws Exception {
            while (true) {
                int n = c.read(b);
                if (n != 0) return n;
                await(() -> c.isReadable());
            }
        }

        void writeAll(ByteBuffer b) throws Exception {
            while (b.hasRemaining()) {
                if (c.write(b) == 0) await(() -> c.writable() > 0);
            }
        }

        private void await(java.util.function.BooleanSupplier ready) throws InterruptedException {
            lock.lock();
            try {
                // a bounded wait: an event lost between the check and the wait costs at most 10 ms
                if (!ready.getAsBoolean()) changed.await(10, TimeUnit.MILLISECONDS);
            } finally {
                lock.unlock();
            }
        }
    }

    static Thread start(String name, ThrowingRunnable r, AtomicReference<Throwable> failure) {
        return Thread.ofPlatform().name(name).start(() -> {
            try {
                r.run();
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
    }

    interface ThrowingRunnable { void run() throws Exception; }

    static String sender(Blocking b, long seed) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        SplittableRandom r = new SplittableRandom(seed);
        byte[] chunk = new byte[100_000];
        for (long sent = 0; sent < BYTES; sent += chunk.length) {
            r.nextBytes(chunk);
            d.update(chunk);
            b.writeAll(ByteBuffer.wrap(chunk));
        }
        b.c.shutdownOutput();
        return HexFormat.of().formatHex(d.digest());
    }

    static String receiver(Blocking b) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        ByteBuffer buf = ByteBuffer.allocate(65536);
        long got = 0;
        while (true) {
            buf.clear();
            int n = b.read(buf);
            if (n < 0) break;
            d.update(buf.array(), 0, n);
            got += n;
        }
        assertThat(got).isEqualTo(BYTES);
        return HexFormat.of().formatHex(d.digest());
    }

    @Test void blockingReadersAndWritersOnRealThreadsMoveEveryByteBothWays() throws Exception {
        TimerWheel wheel = new TimerWheel(Clock.SYSTEM, TimerWheel.DEFAULT_TICK_NANOS, 1024);
        Buffers buffers = new Buffers(8192, 64);
        Wire toB = new Wire(A, B, 1), toA = new Wire(B, A, 2);
        TcpStack sa = new TcpStack(toB, wheel, buffers, new Stats(), new TcpConfig());
        TcpStack sb = new TcpStack(toA, wheel, buffers, new Stats(), new TcpConfig());
        toB.to = sb;
        toA.to = sa;
        AtomicReference<String> violation = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread timer = Thread.ofPlatform().name("tcp-timer").start(() -> {
            while (!stop.get()) {
                wheel.advance();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Thread wireAB = Thread.ofPlatform().name("tcp-wire-ab").start(toB::run);
        Thread wireBA = Thread.ofPlatform().name("tcp-wire-ba").start(toA::run);
        Blocking client = new Blocking(violation), server = new Blocking(violation);
        java.util.concurrent.CountDownLatch accepted = new java.util.concurrent.CountDownLatch(1);
        sb.listen(TcpEndpoint.ipv4(B, 80), 4, new TcpSocketOptions(), new TcpListenUpcall() {
            @Override public TcpUpcall newConnection(TcpListener l, TcpConnection child) { return server; }
            @Override public void acceptable(TcpListener l) {
                TcpConnection c = l.accept();
                if (c != null) {
                    server.c = c;
                    accepted.countDown();
                }
            }
        });
        client.c = sa.open(client);
        client.c.connect(TcpEndpoint.ipv4(B, 80));
        assertThat(accepted.await(30, TimeUnit.SECONDS)).isTrue();
        String[] digests = new String[4];
        Thread[] apps = {
            start("client-writer", () -> digests[0] = sender(client, 11), failure),
            start("server-reader", () -> digests[1] = receiver(server), failure),
            start("server-writer", () -> digests[2] = sender(server, 22), failure),
            start("client-reader", () -> digests[3] = receiver(client), failure),
        };
        for (Thread t : apps) t.join(TimeUnit.SECONDS.toMillis(240));
        try {
            for (Thread t : apps) assertThat(t.isAlive()).as("%s still running: a deadlock or a lost wake-up", t.getName()).isFalse();
            if (failure.get() != null) throw new AssertionError(failure.get());
            assertThat(violation.get()).isNull();
            assertThat(digests[1]).isEqualTo(digests[0]);
            assertThat(digests[3]).isEqualTo(digests[2]);
        } finally {
            client.c.close();
            server.c.close();
            sa.close();
            sb.close();
            stop.set(true);
            timer.join(10_000);
            Packet m0 = buffers.alloc(), m1 = buffers.alloc();
            toB.queue.add(m0);
            toA.queue.add(m1);
            wireAB.join(10_000);
            wireBA.join(10_000);
            for (Packet m; (m = toB.queue.poll()) != null; ) m.free();
            for (Packet m; (m = toA.queue.poll()) != null; ) m.free();
        }
        assertThat(buffers.small().inUse() + buffers.large().inUse()).isZero();
    }
}
