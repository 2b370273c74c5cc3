package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketAttachment;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;

/**
 * The small TCP services on kernel b, reached from kernel a over a memory wire: each answers as its RFC says, on
 * ordinary sockets whose traffic a global socket filter sees, and closing a service ends its connections.
 */
public class TcpServiceTest {
    private static final int B = Ipv4.parse("10.8.0.2");
    private static final long WAIT = 30;

    private final KernelPair pair = new KernelPair("svc", 8, MemoryWire.Options.perfect());
    private final Kernel a = pair.a, b = pair.b;

    @AfterEach void close() throws Exception { pair.close(); }

    private <T extends AutoCloseable> T keep(T c) { return pair.keep(c); }

    /** Line {@code n} of RFC 864's pattern, from the RFC's description: 72 characters from the 95 printable ones. */
    public static String line(int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 72; i++) s.append((char) (' ' + (n + i) % 95));
        return s.toString();
    }

    private TcpSocket client(int port) throws Exception {
        TcpSocket c = keep(a.tcp().open());
        c.setTimeout(WAIT, TimeUnit.SECONDS);
        c.connect(B, port);
        return c;
    }

    private static byte[] readAll(TcpSocket s) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (true) {
            buf.clear();
            int n = s.read(buf);
            if (n < 0) return out.toByteArray();
            assertThat(n).as("data or the end within the wait").isPositive();
            out.write(buf.array(), 0, n);
        }
    }

    @Test void echoReturnsEveryByteAndPassesTheEndOfStreamOn() throws Exception {
        keep(TcpService.start(b.tcp(), TcpService.Kind.ECHO, 0));
        TcpSocket c = client(7);
        byte[] data = new byte[4 << 20];
        new Random(1).nextBytes(data);
        CompletableFuture<byte[]> back = CompletableFuture.supplyAsync(() -> {
            try {
                return readAll(c);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertThat(c.write(ByteBuffer.wrap(data))).isEqualTo(data.length);
        c.shutdown(SocketConstants.SHUT_WR); // half-close: echo sends the rest, then its own FIN
        byte[] got = back.get(WAIT, TimeUnit.SECONDS);
        assertThat(MessageDigest.getInstance("SHA-256").digest(got)).isEqualTo(MessageDigest.getInstance("SHA-256").digest(data));
    }

    @Test void echoOnUpcallsHoldsWhatTheSlowClientCannotTakeYetAndLosesNothing() throws Exception {
        TcpService echo = keep(TcpService.start(b.tcp(), TcpService.Kind.ECHO, 0));
        TcpSocket c = client(7);
        int total = 8 << 20;
        CompletableFuture<Integer> sent = CompletableFuture.supplyAsync(() -> {
            try {
                ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
                int written = 0;
                while (written < total) {
                    chunk.clear().limit(Math.min(chunk.capacity(), total - written));
                    for (int i = 0; i < chunk.limit(); i++) chunk.put(i, (byte) ((written + i) % 251)); // byte k is k mod 251
                    written += c.write(chunk);
                }
                c.shutdown(SocketConstants.SHUT_WR);
                return written;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        // A slow reader: echo's send buffer fills, its reads stop while a reply waits, and the client's writes block.
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
        long got = 0;
        while (true) {
            buf.clear();
            int n = c.read(buf);
            if (n < 0) break;
            assertThat(n).as("data or the end within the wait").isPositive();
            for (int i = 0; i < n; i++) {
                if (buf.get(i) != (byte) ((got + i) % 251)) assertThat(buf.get(i)).as("byte %d", got + i).isEqualTo((byte) ((got + i) % 251));
            }
            got += n;
            if (got % (1 << 20) < n) Thread.sleep(50);
        }
        assertThat(sent.get(WAIT, TimeUnit.SECONDS)).isEqualTo(total);
        assertThat(got).isEqualTo(total);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
        while (echo.connections() > 0 && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(echo.connections()).isZero();
    }

    @Test void echoServesManyConnectionsAtOnceAndLetsEachGo() throws Exception {
        TcpService echo = keep(TcpService.start(b.tcp(), TcpService.Kind.ECHO, 0));
        java.util.List<TcpSocket> clients = new java.util.ArrayList<>();
        for (int i = 0; i < 100; i++) {
            TcpSocket c = client(7);
            c.write(ByteBuffer.wrap(("line " + i).getBytes(StandardCharsets.US_ASCII)));
            clients.add(c);
        }
        for (int i = 0; i < clients.size(); i++) {
            TcpSocket c = clients.get(i);
            c.shutdown(SocketConstants.SHUT_WR);
            assertThat(new String(readAll(c), StandardCharsets.US_ASCII)).isEqualTo("line " + i);
            c.close();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
        while (echo.connections() > 0 && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(echo.connections()).isZero();
    }

    @Test void discardReadsEverythingAndASocketFilterSeesIt() throws Exception {
        AtomicLong seenIn = new AtomicLong();
        ExtensionHandle ext = b.nke().open("svc-watch");
        ext.socketFilters().register(new SocketFilterParams(0x53564331, SocketFilterParams.FLAG_GLOBAL, "svc-watch",
                ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP), new SocketFilter() {
            @Override public int dataIn(SocketAttachment at, SockAddr from, Mbuf data, Mbuf control, int flags) {
                seenIn.addAndGet(data.packetLength());
                return 0;
            }
        });
        TcpService discard = keep(TcpService.start(b.tcp(), TcpService.Kind.DISCARD, 0));
        TcpSocket c = client(9);
        byte[] data = new byte[1 << 20];
        c.write(ByteBuffer.wrap(data));
        c.shutdown(SocketConstants.SHUT_WR);
        assertThat(c.read(ByteBuffer.allocate(1))).as("discard closes after the client's end").isEqualTo(-1);
        assertThat(seenIn.get()).isEqualTo(data.length);
        assertThat(discard.connections()).isZero();
        ext.removeAll();
    }

    @Test void chargenSendsRfc864LinesUntilTheClientGoes() throws Exception {
        keep(TcpService.start(b.tcp(), TcpService.Kind.CHARGEN, 1919));
        TcpSocket c = client(1919);
        int lines = 200; // more than one turn of the 95-line pattern
        ByteBuffer got = ByteBuffer.allocate(lines * 74);
        while (got.hasRemaining()) assertThat(c.read(got)).isPositive();
        String text = new String(got.array(), StandardCharsets.US_ASCII);
        for (int i = 0; i < lines; i++) assertThat(text.substring(i * 74, (i + 1) * 74)).isEqualTo(line(i) + "\r\n");
        c.write(ByteBuffer.wrap("ignored".getBytes(StandardCharsets.US_ASCII)));
        c.setLinger(true, 0);
        c.close(); // a reset: chargen's next write fails and it lets the connection go
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
        while (b.tcp().connections().stream().anyMatch(i -> i.local().port() == 1919) && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(b.tcp().connections()).noneMatch(i -> i.local().port() == 1919);
    }

    @Test void closingAServiceEndsItsConnectionsAndFreesItsPort() throws Exception {
        TcpService echo = TcpService.start(b.tcp(), TcpService.Kind.ECHO, 7007);
        TcpSocket c = client(7007);
        c.write(ByteBuffer.wrap("x".getBytes(StandardCharsets.US_ASCII)));
        assertThat(c.read(ByteBuffer.allocate(1))).isEqualTo(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
        while (echo.connections() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(echo.connections()).isEqualTo(1);
        echo.close();
        assertThat(c.read(ByteBuffer.allocate(1))).isEqualTo(-1);
        keep(TcpService.start(b.tcp(), TcpService.Kind.DISCARD, 7007)).close(); // the port is free again
    }

    @Test void aServiceOnAPortInUseFailsAndLeavesNothingOpen() throws Exception {
        keep(TcpService.start(b.tcp(), TcpService.Kind.ECHO, 0));
        int sockets = b.tcp().stack().listeners().size();
        assertThatThrownBy(() -> TcpService.start(b.tcp(), TcpService.Kind.DISCARD, 7))
                .isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.EADDRINUSE));
        assertThat(b.tcp().stack().listeners()).hasSize(sockets);
    }
}
