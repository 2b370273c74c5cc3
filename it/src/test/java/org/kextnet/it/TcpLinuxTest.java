package org.kextnet.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.kextnet.kernel.inet.tcp.TcpInfo;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.inet.tcp.TcpState;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * TCP between Linux, in a namespace, and the stack over TUN, beyond bulk data: a thousand connections open at
 * once, half-close both ways, a reset from Linux in each state the stack's end can be held in, refused
 * connections both ways, and a SYN flood from spoofed addresses (scapy) while a client keeps being served
 * through SYN cookies.
 */
class TcpLinuxTest {
    private static final Duration WAIT = Duration.ofSeconds(90);

    private final Teardown teardown = new Teardown();

    @AfterEach void tearDown() throws Exception { teardown.close(); }

    /** A TUN rig with the echo service on port 7; Linux's side runs the Debian python with scapy. */
    private TcpRig echoRig() {
        Requirements.require("scapy");
        TcpRig rig = TcpRig.tun(teardown);
        rig.command("service tcp-echo");
        return rig;
    }

    private Path flags() throws Exception {
        Path dir = Files.createTempDirectory("kxt-tsv-flags-");
        teardown.add(() -> {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        });
        return dir;
    }

    /** Waits (bounded, generously: scapy takes long to start on a loaded machine) for a flag file the Linux side writes. */
    private static void awaitFlag(Path dir, String name) throws InterruptedException { awaitFlag(dir, name, null); }

    /** As above, failing at once with what the Linux side said if it ended without raising the flag. */
    private static void awaitFlag(Path dir, String name, CompletableFuture<?> side) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!Files.exists(dir.resolve(name))) {
            if (side != null && side.isDone() && !Files.exists(dir.resolve(name))) {
                throw new AssertionError("Linux ended without signalling '" + name + "': " + side.join());
            }
            if (System.nanoTime() > deadline) throw new AssertionError("Linux did not signal '" + name + "'");
            Thread.sleep(10);
        }
    }

    private static void raiseFlag(Path dir, String name) throws Exception { Files.createFile(dir.resolve(name)); }

    /** Python's side of the flag files: {@code say} raises one, {@code wait} waits (bounded) for one. */
    private static final String FLAGS_PY = """
            import os, sys, time
            def say(flags, n): open(os.path.join(flags, n), "w").close()
            def wait(flags, n):
                end = time.time() + 30
                while not os.path.exists(os.path.join(flags, n)):
                    if time.time() > end: sys.exit("no " + n)
                    time.sleep(0.01)
            """;

    // ---- many connections ----

    private static final String THOUSAND = FLAGS_PY + """
            import resource, socket
            host, port, n, flags = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
            resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
            socks = []
            for i in range(n):
                s = socket.create_connection((host, port), timeout=30)
                socks.append(s)
            say(flags, "open")
            wait(flags, "go")
            for i, s in enumerate(socks):
                s.sendall(b"connection %d\\n" % i)
            for i, s in enumerate(socks):
                want, got = b"connection %d\\n" % i, b""
                while len(got) < len(want):
                    d = s.recv(len(want) - len(got))
                    if not d: sys.exit("echo %d ended early: %r" % (i, got))
                    got += d
                if got != want: sys.exit("echo %d: %r" % (i, got))
                s.shutdown(socket.SHUT_WR)
            for i, s in enumerate(socks):
                if s.recv(16) != b"": sys.exit("echo %d: data after the end" % i)
                s.close()
            print("ok", n)
            """;

    /** 1000 Linux clients connect to the echo service, all open at once, each exchanges a line, then all close. */
    @Test @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aThousandConcurrentConnectionsAreOpenedUsedAndClosed() throws Exception {
        TcpRig rig = echoRig();
        Path flags = flags();
        CompletableFuture<NetNs.Result> linux = CompletableFuture.supplyAsync(() ->
                rig.python(WAIT, THOUSAND, TcpRig.LOCAL, "7", "1000", flags.toString()));

        awaitFlag(flags, "open");
        Stack.eventually(() -> assertThat(rig.kernel.tcp().connections().stream()
                .filter(c -> c.local().port() == 7 && c.state() == TcpState.ESTABLISHED)).hasSize(1000));
        raiseFlag(flags, "go");
        NetNs.Result r = linux.get(WAIT.toSeconds() + 10, TimeUnit.SECONDS);

        assertThat(r.ok()).as("python: %s", r).isTrue();
        assertThat(r.output()).contains("ok 1000");
        assertThat(rig.kernel.stats().get(Stat.TCP_ACCEPTS)).isEqualTo(1000);
        // The clients closed first: the stack's ends pass through LAST-ACK and are gone.
        Stack.eventually(() -> assertThat(rig.kernel.tcp().connections()).isEmpty());
        assertThat(rig.kernel.stats().get(Stat.TCP_SYNCOOKIES_SENT)).isZero();
    }

    // ---- half-close ----

    /** Linux shuts its side down first: echo returns everything, then its own end of stream. */
    @Test @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void linuxHalfClosesAndStillReadsTheEcho() throws Exception {
        TcpRig rig = echoRig();
        NetNs.Result r = rig.python(WAIT, """
                import socket, sys
                s = socket.create_connection((sys.argv[1], 7), timeout=30)
                data = bytes(range(256)) * 4096   # 1 MiB
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while True:
                    d = s.recv(65536)
                    if not d: break
                    got += d
                print("ok" if got == data else "mismatch %d" % len(got))
                """, TcpRig.LOCAL);
        assertThat(r.ok()).as("python: %s", r).isTrue();
        assertThat(r.output()).contains("ok");
    }

    /** The stack shuts its side down first and still reads what Linux sends after its FIN. */
    @Test @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void theStackHalfClosesAndStillReadsLinuxsReply() throws Exception {
        Requirements.require("scapy");
        TcpRig rig = TcpRig.tun(teardown);
        Path flags = flags();
        CompletableFuture<NetNs.Result> linux = CompletableFuture.supplyAsync(() -> rig.python(WAIT, FLAGS_PY + """
                import hashlib, socket
                flags = sys.argv[1]
                ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                ls.bind(("0.0.0.0", 5002)); ls.listen(1)
                say(flags, "listening")
                c, _ = ls.accept(); c.settimeout(30)
                h = hashlib.sha256()
                while True:
                    d = c.recv(65536)
                    if not d: break
                    h.update(d)
                say(flags, "eof")
                wait(flags, "reply")
                c.sendall(h.hexdigest().encode())
                c.close()
                """, flags.toString()));
        awaitFlag(flags, "listening");
        TcpSocket so = teardown.add(rig.connectToLinux(5002));
        long resetsBefore = rig.kernel.stats().get(Stat.TCP_RCV_RST);
        byte[] data = new byte[1 << 20];
        new java.util.Random(5).nextBytes(data);
        so.write(ByteBuffer.wrap(data));
        so.shutdown(SocketConstants.SHUT_WR);
        awaitFlag(flags, "eof");
        Stack.eventually(() -> assertThat(stateOf(rig, 5002)).isEqualTo(TcpState.FIN_WAIT_2));
        raiseFlag(flags, "reply");

        ByteBuffer reply = ByteBuffer.allocate(64);
        while (reply.hasRemaining()) assertThat(so.read(reply)).as("reply within the timeout").isPositive();
        assertThat(so.read(ByteBuffer.allocate(1))).isEqualTo(-1);
        String expected = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
        assertThat(new String(reply.array(), StandardCharsets.US_ASCII)).isEqualTo(expected);
        assertThat(linux.get(30, TimeUnit.SECONDS).ok()).isTrue();
        // It closed first, so it waits 2 MSL; on a loaded machine Linux may resend its FIN across our ACK and answer
        // the second ACK with a RST, which ends TIME-WAIT early (RFC 9293, as BSD; docs/tcp.md). Either is right.
        Stack.eventually(() -> assertThat(stateOf(rig, 5002) == TcpState.TIME_WAIT
                || stateOf(rig, 5002) == TcpState.CLOSED && rig.kernel.stats().get(Stat.TCP_RCV_RST) > resetsBefore)
                .as("TIME-WAIT, or closed by Linux's RST (state %s)", stateOf(rig, 5002)).isTrue());
    }

    private static TcpState stateOf(TcpRig rig, int remotePort) {
        return rig.kernel.tcp().connections().stream().filter(c -> c.remote() != null && c.remote().port() == remotePort)
                .map(TcpInfo::state).findFirst().orElse(TcpState.CLOSED);
    }

    // ---- resets ----

    /** The states the stack's end is held in when Linux resets the connection (linger 0). */
    enum Held {
        ESTABLISHED(TcpState.ESTABLISHED), FIN_WAIT_1(TcpState.FIN_WAIT_1), FIN_WAIT_2(TcpState.FIN_WAIT_2),
        CLOSE_WAIT(TcpState.CLOSE_WAIT), LAST_ACK(TcpState.LAST_ACK);

        final TcpState state;

        Held(TcpState state) { this.state = state; }
    }

    private static final String RESETTER = FLAGS_PY + """
            import socket, struct
            port, mode, flags = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # a small window: the stack's data waits
            ls.bind(("0.0.0.0", port)); ls.listen(1); say(flags, "listening")
            c, _ = ls.accept(); c.settimeout(30)
            if mode == "ESTABLISHED":
                c.recv(1)
            elif mode == "FIN_WAIT_2":
                while c.recv(65536): pass          # up to the stack's FIN
            elif mode in ("CLOSE_WAIT", "LAST_ACK"):
                c.shutdown(socket.SHUT_WR)
            say(flags, "ready"); wait(flags, "reset")
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()                                # linger 0: a reset
            print("reset sent")
            """;

    @ParameterizedTest @EnumSource(Held.class) @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aResetFromLinuxEndsTheConnectionInEachState(Held held) throws Exception {
        Requirements.require("scapy");
        TcpRig rig = TcpRig.tun(teardown);
        Path flags = flags();
        int port = 5003;
        CompletableFuture<NetNs.Result> linux = CompletableFuture.supplyAsync(() ->
                rig.python(WAIT, RESETTER, Integer.toString(port), held.name(), flags.toString()));
        awaitFlag(flags, "listening");
        TcpSocket so = teardown.add(rig.connectToLinux(port));
        switch (held) {
            case ESTABLISHED -> so.write(ByteBuffer.wrap(new byte[] {'x'}));
            case FIN_WAIT_1 -> {
                fillLinuxWindow(so); // Linux does not read: our FIN waits behind the data
                so.shutdown(SocketConstants.SHUT_WR);
            }
            case FIN_WAIT_2 -> so.shutdown(SocketConstants.SHUT_WR);
            case CLOSE_WAIT -> assertThat(so.read(ByteBuffer.allocate(1))).isEqualTo(-1);
            case LAST_ACK -> {
                assertThat(so.read(ByteBuffer.allocate(1))).isEqualTo(-1);
                fillLinuxWindow(so);
                so.close(); // FIN after the data, which Linux does not take
            }
        }
        awaitFlag(flags, "ready");
        Stack.eventually(() -> assertThat(stateOf(rig, port)).isEqualTo(held.state));
        long resets = rig.kernel.stats().get(Stat.TCP_RCV_RST);
        raiseFlag(flags, "reset");

        assertThat(linux.get(60, TimeUnit.SECONDS).output()).contains("reset sent");
        Stack.eventually(() -> assertThat(stateOf(rig, port)).isEqualTo(TcpState.CLOSED)); // gone from the table
        assertThat(rig.kernel.stats().get(Stat.TCP_RCV_RST)).isEqualTo(resets + 1);
        if (held != Held.LAST_ACK) {
            // The socket hears of it once: ECONNRESET, from a read (or a write when reading is over).
            assertThatThrownBy(() -> {
                so.read(ByteBuffer.allocate(1), 5, TimeUnit.SECONDS);
                so.write(ByteBuffer.wrap(new byte[1]));
            }).isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isIn(Errno.ECONNRESET, Errno.EPIPE));
        }
    }

    /** Writes without blocking until the peer's window and our send buffer are full. */
    private static void fillLinuxWindow(TcpSocket so) throws Exception {
        so.setBlocking(false);
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int idle = 0;
        while (idle < 20 && System.nanoTime() < deadline) { // nothing taken for 20 tries in a row: full
            chunk.clear();
            if (so.write(chunk) == 0) {
                idle++;
                Thread.sleep(10);
            } else {
                idle = 0;
            }
        }
        so.setBlocking(true);
    }

    /** A SYN from Linux's own stack (scapy) gets our SYN-ACK, which Linux's kernel resets: SYN-RECEIVED ends. */
    @Test @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aResetInSynReceivedRemovesTheHalfOpenConnection() throws Exception {
        TcpRig rig = echoRig();
        long resets = rig.kernel.stats().get(Stat.TCP_RCV_RST);
        NetNs.Result r = rig.python(WAIT, """
                import sys
                from scapy.all import IP, TCP, sr1, conf
                conf.verb = 0
                synack = sr1(IP(dst=sys.argv[1])/TCP(sport=40001, dport=7, flags="S", seq=1000), timeout=10)
                print("synack" if synack is not None and synack[TCP].flags == "SA" and synack[TCP].ack == 1001 else "none")
                """, TcpRig.LOCAL);
        assertThat(r.output()).as("scapy: %s", r).contains("synack");
        // Linux's kernel has no socket on port 40001: it answers our SYN-ACK with a reset.
        Stack.eventually(() -> assertThat(rig.kernel.stats().get(Stat.TCP_RCV_RST)).isEqualTo(resets + 1));
        assertThat(rig.kernel.tcp().connections()).isEmpty();
        assertThat(rig.kernel.tcp().stack().listeners()).hasSize(1);
    }

    // ---- refused ----

    @Test @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void connectionsToClosedPortsAreRefusedBothWays() throws Exception {
        Requirements.require("scapy");
        TcpRig rig = TcpRig.tun(teardown);
        // Linux to a stack port nobody listens on: our reset makes connect fail at once.
        NetNs.Result r = rig.python(WAIT, """
                import socket, sys
                try:
                    socket.create_connection((sys.argv[1], 4444), timeout=10)
                    print("connected")
                except ConnectionRefusedError:
                    print("refused")
                """, TcpRig.LOCAL);
        assertThat(r.output()).as("python: %s", r).contains("refused");
        assertThat(rig.kernel.stats().get(Stat.TCP_NO_PORT)).isEqualTo(1);
        assertThat(rig.kernel.stats().get(Stat.TCP_SND_RST)).isEqualTo(1);
        // The stack to a Linux port nobody listens on: Linux's reset in SYN-SENT.
        TcpSocket so = teardown.add(rig.kernel.tcp().open());
        so.setTimeout(30, TimeUnit.SECONDS);
        assertThatThrownBy(() -> so.connect(TcpRig.PEER_IP, 4444))
                .isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.ECONNREFUSED));
        assertThat(rig.kernel.tcp().connections()).isEmpty();
    }

    // ---- SYN flood ----

    /**
     * 3000 SYNs from spoofed addresses fill the echo service's half-open queue (512); while they come, a Linux
     * client keeps connecting, exchanging a line and closing, and is served every time through SYN cookies.
     */
    @Test @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aSynFloodDoesNotKeepAClientFromBeingServed() throws Exception {
        TcpRig rig = echoRig();
        Path flags = flags();
        Duration floodWait = WAIT.multipliedBy(3); // scapy builds and sends 3,000 packets one by one: slow on a loaded machine
        CompletableFuture<NetNs.Result> flood = CompletableFuture.supplyAsync(() -> rig.python(floodWait, FLAGS_PY + """
                import random
                from scapy.all import IP, TCP, send, conf
                conf.verb = 0
                dst, flags = sys.argv[1], sys.argv[2]
                rnd = random.Random(7)
                pkts = [IP(src="10.124.1.%d" % rnd.randint(100, 250), dst=dst) /
                        TCP(sport=rnd.randint(1024, 65535), dport=7, flags="S", seq=rnd.randint(0, 2**32 - 1))
                        for _ in range(3000)]
                send(pkts[:1000])
                say(flags, "flooding")
                send(pkts[1000:])
                print("sent", len(pkts))
                """, TcpRig.LOCAL, flags.toString()));
        awaitFlag(flags, "flooding", flood);
        NetNs.Result client = rig.python(WAIT, """
                import socket, sys, time
                served = 0
                for i in range(40):
                    s = socket.create_connection((sys.argv[1], 7), timeout=20)
                    line = b"still served %d\\n" % i
                    s.sendall(line)
                    got = b""
                    while len(got) < len(line):
                        d = s.recv(100)
                        if not d: break
                        got += d
                    s.close()
                    if got == line: served += 1
                    time.sleep(0.02)
                print("served", served)
                """, TcpRig.LOCAL);
        NetNs.Result f = flood.get(floodWait.toSeconds() + 10, TimeUnit.SECONDS);

        assertThat(f.output()).as("flood: %s", f).contains("sent 3000");
        assertThat(client.output()).as("client: %s", client).contains("served 40");
        assertThat(rig.kernel.stats().get(Stat.TCP_SYNCOOKIES_SENT)).as("cookies sent").isPositive();
        assertThat(rig.kernel.stats().get(Stat.TCP_SYNCOOKIES_ACCEPTED)).as("cookies accepted (the client's)").isPositive();
        assertThat(rig.kernel.tcp().stack().listeners()).hasSize(1);
        System.out.println("tsv-synflood " + rig.command("netstat -s -p tcp").replace('\n', ';'));
    }
}
