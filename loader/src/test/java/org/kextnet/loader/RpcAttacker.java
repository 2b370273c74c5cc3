package org.kextnet.loader;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * The RPC attack of issue 13, held for a while against a kern_loader socket, in its own process (so that what it
 * holds is not counted in the daemon's heap); run by {@link RpcAbuseTest}. Plain JDK, one thread, a selector.
 *
 * <pre>java -cp test-classes org.kextnet.loader.RpcAttacker SOCKET HEADERS IDLE SLOW SECONDS</pre>
 * <ul>
 *   <li>HEADERS connections each send a greeting and a 13-byte frame header (length, op, 4 bytes): half declare
 *       16 MiB, the other half a SEND of the largest length SEND allows; then nothing more;</li>
 *   <li>IDLE connections each send a greeting and nothing more;</li>
 *   <li>SLOW connections send a greeting and a PING one byte per second.</li>
 * </ul>
 * Each connection the daemon closes is opened again (at most 2,000 opens a second in all), until SECONDS have
 * passed. It prints "ready" once 2,000 have been opened, then a summary: {@code opened N closed M (... slow K)}.
 */
public final class RpcAttacker {
    private static final int MAGIC = 0x4B4C4452, SEND = 0x0C, PING = 0x01;
    /** SEND's largest frame (length field): op, tag, port, id, flags, data length and 256 KiB of data. */
    private static final int SEND_MAX_FRAME = 5 + 8 + 4 + 1 + 4 + 256 * 1024;

    private enum Kind { HEADER_16M, HEADER_LEGAL, IDLE, SLOW }

    private static final class Conn {
        final Kind kind;
        final SocketChannel ch;
        int slowSent;

        Conn(Kind kind, SocketChannel ch) {
            this.kind = kind;
            this.ch = ch;
        }
    }

    public static void main(String[] args) throws Exception {
        UnixDomainSocketAddress socket = UnixDomainSocketAddress.of(args[0]);
        int headers = Integer.parseInt(args[1]), idle = Integer.parseInt(args[2]), slow = Integer.parseInt(args[3]);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[4]));
        int[] open = new int[Kind.values().length];
        int[] want = {headers / 2, headers - headers / 2, idle, slow};
        long opened = 0;
        long[] closed = new long[Kind.values().length];
        boolean ready = false;
        byte[] ping = ByteBuffer.allocate(9).putInt(5).put((byte) PING).putInt(1).array();
        ByteBuffer sink = ByteBuffer.allocate(64 * 1024);
        long lastSlowByte = System.nanoTime();
        try (Selector sel = Selector.open()) {
            while (System.nanoTime() < end) {
                long passStart = System.nanoTime();
                for (Kind k : Kind.values()) {
                    int budget = k == Kind.IDLE ? 150 : 25; // opens per 100 ms pass
                    while (open[k.ordinal()] < want[k.ordinal()] && budget-- > 0 && System.nanoTime() < end) {
                        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                        try {
                            ch.connect(socket);
                            ByteBuffer first = ByteBuffer.allocate(13).putInt(MAGIC).putShort((short) 2).putShort((short) 0);
                            switch (k) {
                                case HEADER_16M -> first.putInt(16 << 20).put((byte) SEND);
                                case HEADER_LEGAL -> first.putInt(SEND_MAX_FRAME).put((byte) SEND);
                                default -> { }
                            }
                            ch.write(first.flip());
                            ch.configureBlocking(false);
                            ch.register(sel, SelectionKey.OP_READ, new Conn(k, ch));
                            open[k.ordinal()]++;
                            opened++;
                        } catch (IOException e) {
                            ch.close(); // refused or closed at once: counts as closed
                            closed[k.ordinal()]++;
                        }
                    }
                }
                if (!ready && open[0] + open[1] + open[2] + open[3] > 0 && opened >= Math.min(headers + idle + slow, 2000)) {
                    System.out.println("ready");
                    System.out.flush();
                    ready = true;
                }
                boolean slowTick = System.nanoTime() - lastSlowByte > TimeUnit.SECONDS.toNanos(1);
                if (slowTick) lastSlowByte = System.nanoTime();
                while (System.nanoTime() - passStart < TimeUnit.MILLISECONDS.toNanos(100)) {
                    sel.select(20);
                    for (SelectionKey key : sel.selectedKeys()) {
                        Conn c = (Conn) key.attachment();
                        sink.clear();
                        int r;
                        try {
                            r = c.ch.read(sink);
                        } catch (IOException e) {
                            r = -1;
                        }
                        if (r < 0) {
                            key.cancel();
                            c.ch.close();
                            open[c.kind.ordinal()]--;
                            closed[c.kind.ordinal()]++;
                        }
                    }
                    sel.selectedKeys().clear();
                }
                if (slowTick) {
                    for (SelectionKey key : sel.keys()) {
                        Conn c = (Conn) key.attachment();
                        if (c.kind != Kind.SLOW || !key.isValid() || c.slowSent >= ping.length) continue;
                        try {
                            c.ch.write(ByteBuffer.wrap(ping, c.slowSent++, 1));
                        } catch (IOException e) {
                            // closed: the read side notices
                        }
                    }
                }
            }
            for (SelectionKey key : sel.keys()) ((Conn) key.attachment()).ch.close();
        }
        System.out.println("opened " + opened + " closed " + (closed[0] + closed[1] + closed[2] + closed[3]) + " (16 MiB headers "
                + closed[0] + ", legal headers " + closed[1] + ", idle " + closed[2] + ", slow " + closed[3] + ")");
    }
}
