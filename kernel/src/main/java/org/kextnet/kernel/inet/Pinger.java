package org.kextnet.kernel.inet;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.net.Contexts;

/**
 * Sends ICMP echo requests from a kernel and waits for the replies, like {@code ping}. One identifier per
 * pinger; close it to stop listening.
 */
public final class Pinger implements AutoCloseable {
    private final IcmpLayer icmp;
    private final Contexts contexts;
    private final int id;
    private final LinkedBlockingQueue<Integer> replies = new LinkedBlockingQueue<>();

    public Pinger(IcmpLayer icmp, Contexts contexts) {
        this.icmp = icmp;
        this.contexts = contexts;
        this.id = ThreadLocalRandom.current().nextInt(1, 0xffff);
        icmp.onEchoReply(id, replies::add);
    }

    /**
     * Sends echo request {@code seq} to {@code dst} and waits for its reply.
     * @return the round-trip time in nanoseconds, or -1 if no reply came in time (or the send failed)
     */
    public long ping(int dst, int seq, int payloadLength, long timeout, TimeUnit unit) throws InterruptedException {
        long start = System.nanoTime();
        int err = contexts.call(ctx -> icmp.sendEcho(ctx, dst, id, seq & 0xffff, payloadLength));
        if (err != 0) return -1;
        long deadline = start + unit.toNanos(timeout);
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return -1;
            Integer got = replies.poll(left, TimeUnit.NANOSECONDS);
            if (got == null) return -1;
            if (got == (seq & 0xffff)) return System.nanoTime() - start;
        }
    }

    @Override public void close() { icmp.onEchoReply(id, null); }
}
