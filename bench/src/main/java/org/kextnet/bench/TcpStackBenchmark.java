package org.kextnet.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * TCP stack to stack over a memory wire, one flow: two kernels, each with its driver's reader thread, joined by a
 * memory wire; the benchmark thread writes 1 MiB per operation into a TCP socket of kernel A, and a reader thread
 * reads it from the accepted socket of kernel B. Every layer runs: TCP, IPv4 (header, checksum, route), Ethernet
 * framing, ARP, the wire's ring, input on B's reader thread, ACKs back the same way. Steady state, an operation
 * completes as fast as B drains it, so operations per second times 1 MiB is the flow's throughput.
 *
 * <p>{@link #memcpy1MiB} is the same run's ceiling: one copy of 1 MiB between heap arrays (the stack copies each
 * byte at least four times: user buffer to send ring, ring to segment, segment to receive ring, ring to user).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Dkextnet.unchecked=true", "-XX:MaxInlineLevel=30"})
@State(Scope.Benchmark)
public class TcpStackBenchmark {
    static final int CHUNK = 1 << 20;
    static final int A = Ipv4.parse("10.8.0.1"), B = Ipv4.parse("10.8.0.2");

    /** The memory wire's MTU: Ethernet's, or a large one (the stack-to-stack goal is stated for it). */
    @Param({"1500", "65000"})
    public int mtu;

    Kernel a, b; // package-private for TcpStackRun
    private TcpSocket client, server, accepted;
    private Thread drainer;
    private volatile boolean running;
    private final ByteBuffer src = ByteBuffer.allocate(CHUNK);
    private final byte[] copyFrom = new byte[CHUNK], copyTo = new byte[CHUNK];

    @Setup public void setUp() throws Exception {
        a = new Kernel("bench-a", new Buffers(16384, 2048));
        b = new Kernel("bench-b", new Buffers(16384, 2048));
        MemoryWire wire = new MemoryWire("w", MemoryWire.Options.perfect().withRingSize(8192));
        Interface ia = a.createInterface("em0", IfFamily.ETHERNET, wire.a(), 0x02_00_00_00_08_01L, mtu);
        Interface ib = b.createInterface("em0", IfFamily.ETHERNET, wire.b(), 0x02_00_00_00_08_02L, mtu);
        a.addAddress(ia, InterfaceAddress.parse("10.8.0.1/24"));
        b.addAddress(ib, InterfaceAddress.parse("10.8.0.2/24"));
        ia.up();
        ib.up();
        server = b.tcp().open().bind(0, 5001);
        server.listen(4);
        client = a.tcp().open();
        client.connect(B, 5001);
        accepted = server.accept(30, TimeUnit.SECONDS);
        if (accepted == null) throw new IllegalStateException("no connection");
        running = true;
        drainer = Thread.ofPlatform().name("bench-reader").daemon().start(() -> {
            ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
            try {
                while (running) {
                    buf.clear();
                    if (accepted.read(buf, 100, TimeUnit.MILLISECONDS) < 0) return;
                }
            } catch (Exception e) {
                if (running) e.printStackTrace();
            }
        });
    }

    @TearDown public void tearDown() throws Exception {
        running = false;
        client.close();
        drainer.join(10_000);
        accepted.close();
        server.close();
        a.close();
        b.close();
    }

    /** 1 MiB through the stacks. */
    @Benchmark public int stackToStack1MiB() throws Exception {
        src.clear();
        return client.write(src);
    }

    /** The ceiling of the same run: one copy of 1 MiB. */
    @Benchmark public byte[] memcpy1MiB() {
        System.arraycopy(copyFrom, 0, copyTo, 0, CHUNK);
        return copyTo;
    }
}
