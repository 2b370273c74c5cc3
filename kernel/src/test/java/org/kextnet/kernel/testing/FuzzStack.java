package org.kextnet.kernel.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.inet.udp.UdpEchoService;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.socket.SocketError;

/**
 * The kernel the fuzz tests feed. One serves the whole run (building a kernel per input would cost more
 * than the input): two links with forwarding on and a small MTU on em1 (so forwarded packets get
 * fragmented), a UDP socket on port 9 that queues, and the echo service on port 7.
 *
 * <p>{@link #settle} runs after every input and is the oracle besides "nothing thrown": it lets every
 * timeout run out, drains every queue, and asserts that no buffer is still held (a leak, or a buffer
 * freed twice and so counted back twice) and that no input path caught an exception.
 */
public final class FuzzStack {
    private static FuzzStack instance;

    public final TestNet net;
    private final UdpSocket sink;

    private FuzzStack() throws SocketError {
        net = TestNet.builder().links(2).forwarding(true).smallBuffers(1024).build();
        net.em1().setMtu(576);
        sink = net.kernel.udp().open().bind(0, 9);
        UdpEchoService.start(net.kernel.udp(), 7);
    }

    public static synchronized FuzzStack get() {
        if (instance == null) {
            try {
                instance = new FuzzStack();
            } catch (SocketError e) {
                throw new IllegalStateException(e);
            }
        }
        return instance;
    }

    /** A frame from the peer of {@code link} (0 or 1), processed before this returns. */
    public void receive(int link, byte[] frame) {
        net.peer(link & 1).send(frame);
    }

    public void settle() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            try {
                while (Sockets.tryReceive(sink) != null) { /* drain */ }
            } catch (SocketError e) {
                throw new AssertionError(e);
            }
            // Every timeout runs out (ARP gives up after 3 retries; reassembly, TIME-WAIT and TCP's retransmissions
            // end within minutes), a minute of kernel time at a time: not hours at a time, since the kernel's clock
            // has a range of 2^63 ns (292 years) and 5 hours an input used it up after 512,000 inputs.
            for (int i = 0; i < 300 && net.kernel.timers().size() > 0; i++) net.tick(1, TimeUnit.MINUTES);
            net.peer0().drain();
            net.peer1().drain();
            if (net.buffersInUse() == 0) break;
            // lo0 has a thread of its own; give it a bounded moment before calling it a leak.
            assertThat(System.nanoTime() - deadline).as("buffers still held after the input: " + net.buffersInUse()).isNegative();
            Thread.yield();
        }
        for (Interface ifp : net.kernel.interfaces()) {
            assertThat(ifp.counters().get(IfCounters.IERRORS)).as(ifp + ": an input path threw (see the log)").isZero();
        }
    }
}
