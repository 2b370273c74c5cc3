package org.kextnet.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.inet.tcp.TcpService;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.wire.Ipv4;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one TCP connection, stack to stack over a memory wire: what {@code bench/tcp/tcp-bench.sh cps} measures
 * over TUN, without the TUN device and Linux. Kernel A's socket (on the benchmark thread) connects to kernel B's echo
 * service ({@link TcpService}, served as in {@code TunTcpMain}), writes 64 bytes, reads them back and closes; one
 * operation is one connection, so {@code -prof gc}'s bytes per operation are the bytes both kernels allocate for a
 * connection (the client's TIME-WAIT included, since the client closes first, as tcpcps does).
 *
 * <p>Kernel A's connections wait in TIME-WAIT for 2 MSL, here shortened to 1 s: an ephemeral connect does not reuse
 * a TIME-WAIT port (an explicitly bound one does), and the 16384 ephemeral ports towards one service would run out
 * within the default 60 s.
 *
 * <pre>bench/run-jmh.sh TcpConnectBenchmark -prof gc</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Dkextnet.unchecked=true", "-XX:+UseCompactObjectHeaders"})
@State(Scope.Benchmark)
public class TcpConnectBenchmark {
    static final int B = Ipv4.parse("10.9.0.2");
    static final int SIZE = 64;

    Kernel a, b; // package-private for a run outside JMH
    private TcpService echo;
    private final ByteBuffer request = ByteBuffer.allocate(SIZE), reply = ByteBuffer.allocate(SIZE);

    @Setup public void setUp() throws Exception {
        a = new Kernel("conn-a", new Buffers(16384, 2048));
        b = new Kernel("conn-b", new Buffers(16384, 2048));
        MemoryWire wire = new MemoryWire("w", MemoryWire.Options.perfect().withRingSize(8192));
        Interface ia = a.createInterface("em0", IfFamily.ETHERNET, wire.a(), 0x02_00_00_00_09_01L, 1500);
        Interface ib = b.createInterface("em0", IfFamily.ETHERNET, wire.b(), 0x02_00_00_00_09_02L, 1500);
        a.addAddress(ia, InterfaceAddress.parse("10.9.0.1/24"));
        b.addAddress(ib, InterfaceAddress.parse("10.9.0.2/24"));
        ia.up();
        ib.up();
        a.tcp().stack().config().msl = TimeUnit.MILLISECONDS.toNanos(500);
        echo = TcpService.start(b.tcp(), TcpService.Kind.ECHO, 0);
        for (int i = 0; i < SIZE; i++) request.put(i, (byte) i);
    }

    @TearDown public void tearDown() {
        echo.close();
        a.close();
        b.close();
    }

    /** Open, 64 bytes there and back, close: one connection. */
    @Benchmark public int connectEchoClose() throws Exception {
        TcpSocket so = a.tcp().open();
        try {
            so.setTimeout(10, TimeUnit.SECONDS);
            so.connect(B, echo.port());
            request.clear();
            so.write(request);
            reply.clear();
            while (reply.hasRemaining()) {
                if (so.read(reply) <= 0) throw new IllegalStateException("the echo ended after " + reply.position() + " bytes");
            }
            return reply.get(SIZE - 1);
        } finally {
            so.close();
        }
    }
}
