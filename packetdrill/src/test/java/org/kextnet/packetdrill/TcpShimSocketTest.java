package org.kextnet.packetdrill;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.inet.tcp.TcpConfig;

/**
 * TCP through the shim without packetdrill: the test thread is packetdrill's main thread, segments are built in
 * {@link Ip4}, and what the stack sends is read back with its virtual time. The calls speak Linux (errnos, poll
 * bits, option numbers), the timers fire at kextnet's documented virtual times.
 */
class TcpShimSocketTest {
    private static final long MS = 1_000_000L;
    private static final int PEER_PORT = 40_000, PEER_ISN = 1_000;
    /** The peer's SYN options: MSS 1000, SACK permitted, NOP, NOP, NOP, window scale 7 (as packetdrill's scripts). */
    private static final byte[] PEER_SYN_OPTIONS = {2, 4, 0x03, (byte) 0xe8, 4, 2, 1, 1, 1, 3, 3, 7};

    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private Shim shim;
    private int nextFd = 100;
    /** The stack's next sequence number, learnt from its SYN or SYN-ACK. */
    private int stackSeq;

    private Shim shim() {
        shim = new Shim(ShimConfig.parse(""), SocketTypes.standard(), new PrintStream(logBytes, true, StandardCharsets.UTF_8));
        return shim;
    }

    @AfterEach void close() {
        if (shim != null) shim.close();
    }

    private long nanos() { return shim.time.now(); }

    private int tcpSocket(int flags) {
        int fd = nextFd++;
        assertThat(shim.socket(fd, Linux.AF_INET, Linux.SOCK_STREAM | flags, 0)).isZero();
        return fd;
    }

    private void inject(int flags, int seq, int ack, byte[] options, byte[] payload) {
        assertThat(shim.netdevSend(Ip4.tcp(Ip4.REMOTE, PEER_PORT, Ip4.LOCAL, 8080, seq, ack, flags, 1000, options, payload))).isZero();
    }

    private ShimKernel.Frame sent() {
        ShimKernel.Frame f = shim.netdevReceive();
        assertThat(f).as("a segment from the stack").isNotNull();
        assertThat(Ip4.protocol(f.data())).isEqualTo(Ip4.TCP);
        return f;
    }

    private int poll(int fd, int events) {
        int[] revents = new int[1];
        shim.poll(new int[] {fd, events}, revents, 0);
        return revents[0];
    }

    private int intOption(int fd, int level, int name) {
        ByteBuffer out = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(shim.getOption(fd, level, name, out)).isEqualTo(4);
        return out.getInt(0);
    }

    private int setInt(int fd, int level, int name, int value) {
        return shim.setOption(fd, level, name, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value));
    }

    /** A listening socket on 8080 and a connection accepted from the peer; returns the accepted descriptor. */
    private int accepted() {
        int l = tcpSocket(0);
        assertThat(setInt(l, Linux.SOL_SOCKET, Linux.SO_REUSEADDR, 1)).isZero();
        assertThat(shim.bind(l, Linux.AF_INET, Ip4.LOCAL, 8080)).isZero();
        assertThat(shim.listen(l, 1)).isZero();
        inject(Ip4.SYN, PEER_ISN, 0, PEER_SYN_OPTIONS, new byte[0]);
        ShimKernel.Frame synAck = sent();
        stackSeq = Ip4.tcpSeq(synAck.data()) + 1;
        inject(Ip4.ACK, PEER_ISN + 1, stackSeq, new byte[0], new byte[0]);
        int fd = nextFd++;
        int[] peer = new int[3];
        assertThat(shim.accept(fd, l, peer)).isZero();
        assertThat(peer).containsExactly(Linux.AF_INET, Ip4.REMOTE, PEER_PORT);
        return fd;
    }

    @Test void aPassiveOpenIsAcceptedAndCarriesDataBothWays() {
        shim();
        int l = tcpSocket(0);
        shim.bind(l, Linux.AF_INET, Ip4.LOCAL, 8080);
        shim.listen(l, 1);
        assertThat(poll(l, Linux.POLLIN)).isZero();
        inject(Ip4.SYN, PEER_ISN, 0, PEER_SYN_OPTIONS, new byte[0]);
        ShimKernel.Frame synAck = sent();
        assertThat(Ip4.tcpFlags(synAck.data())).isEqualTo(Ip4.SYN | Ip4.ACK);
        assertThat(Ip4.tcpAck(synAck.data())).isEqualTo(PEER_ISN + 1);
        // MSS 1460 from pd0's MTU; NOP NOP SACK-permitted and NOP window scale 7 (6 MiB of receive buffer)
        assertThat(Ip4.tcpOptions(synAck.data())).containsExactly(2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7);
        stackSeq = Ip4.tcpSeq(synAck.data()) + 1;
        inject(Ip4.ACK, PEER_ISN + 1, stackSeq, new byte[0], new byte[0]);
        assertThat(poll(l, Linux.POLLIN)).isEqualTo(Linux.POLLIN);
        int fd = nextFd++;
        assertThat(shim.accept(fd, l, new int[3])).isZero();
        assertThat(shim.fcntl(l, Linux.F_SETFL, Linux.O_NONBLOCK)).isZero();
        assertThat(shim.accept(nextFd++, l, new int[3])).as("nothing more to accept").isEqualTo(-Linux.EAGAIN);

        long in = nanos();
        inject(Ip4.ACK | Ip4.PSH, PEER_ISN + 1, stackSeq, new byte[0], "hello".getBytes());
        ShimKernel.Frame ack = sent();
        assertThat(Ip4.tcpAck(ack.data())).isEqualTo(PEER_ISN + 6);
        assertThat(ack.nanos() - in).as("the delayed ACK's 40 ms").isBetween(40 * MS, 41 * MS);
        ByteBuffer got = ByteBuffer.allocate(100);
        assertThat(shim.receive(fd, got, 0, new int[5])).isEqualTo(5);
        assertThat(new String(got.array(), 0, 5)).isEqualTo("hello");

        assertThat(shim.send(fd, ByteBuffer.wrap("world".getBytes()), 0, 0, 0, -1)).isEqualTo(5);
        ShimKernel.Frame data = sent();
        assertThat(Ip4.tcpFlags(data.data())).isEqualTo(Ip4.ACK | Ip4.PSH);
        assertThat(Ip4.tcpSeq(data.data())).isEqualTo(stackSeq);
        assertThat(new String(Ip4.tcpPayload(data.data()))).isEqualTo("world");
    }

    @Test void aNonBlockingConnectIsInProgressUntilTheSynAckThenConnected() {
        shim();
        int fd = tcpSocket(Linux.SOCK_NONBLOCK);
        assertThat(poll(fd, Linux.POLLOUT)).as("a new socket, as Linux: writable and hung up").isEqualTo(Linux.POLLOUT | Linux.POLLHUP);
        assertThat(shim.connect(fd, Linux.AF_INET, Ip4.REMOTE, 8080)).isEqualTo(-Linux.EINPROGRESS);
        assertThat(poll(fd, Linux.POLLOUT | Linux.POLLIN)).isZero();
        assertThat(shim.connect(fd, Linux.AF_INET, Ip4.REMOTE, 8080)).isEqualTo(-Linux.EALREADY);
        ShimKernel.Frame syn = sent();
        assertThat(Ip4.tcpFlags(syn.data())).isEqualTo(Ip4.SYN);
        byte[] o = Ip4.tcpOptions(syn.data());
        assertThat(o).hasSize(20); // MSS; SACK-permitted packed with the timestamps; NOP, window scale
        assertThat(new byte[] {o[0], o[1], o[4], o[5], o[6], o[7], o[16], o[17], o[18], o[19]})
                .containsExactly(2, 4, 4, 2, 8, 10, 1, 3, 3, 7);
        int iss = Ip4.tcpSeq(syn.data());
        int port = Ip4.srcPort(syn.data());
        shim.netdevSend(Ip4.tcp(Ip4.REMOTE, 8080, Ip4.LOCAL, port, 7000, iss + 1, Ip4.SYN | Ip4.ACK, 5000,
                new byte[] {2, 4, 0x05, (byte) 0xb4}, new byte[0]));
        assertThat(Ip4.tcpFlags(sent().data())).isEqualTo(Ip4.ACK);
        assertThat(poll(fd, Linux.POLLOUT)).isEqualTo(Linux.POLLOUT);
        assertThat(intOption(fd, Linux.SOL_SOCKET, Linux.SO_ERROR)).isZero();
        assertThat(shim.connect(fd, Linux.AF_INET, Ip4.REMOTE, 8080)).isEqualTo(-Linux.EISCONN);
        assertThat(shim.receive(fd, ByteBuffer.allocate(10), 0, new int[5])).isEqualTo(-Linux.EAGAIN);
        assertThat(intOption(fd, Linux.IPPROTO_TCP, Linux.TCP_MAXSEG)).isEqualTo(1460); // no timestamps: the whole MSS
    }

    @Test void aResetRefusesTheConnectionAndSoErrorSaysSo() {
        shim();
        int fd = tcpSocket(Linux.SOCK_NONBLOCK);
        shim.connect(fd, Linux.AF_INET, Ip4.REMOTE, 8080);
        ShimKernel.Frame syn = sent();
        shim.netdevSend(Ip4.tcp(Ip4.REMOTE, 8080, Ip4.LOCAL, Ip4.srcPort(syn.data()), 0, Ip4.tcpSeq(syn.data()) + 1,
                Ip4.RST | Ip4.ACK, 0, new byte[0], new byte[0]));
        int ev = poll(fd, Linux.POLLIN | Linux.POLLOUT);
        assertThat(ev & (Linux.POLLERR | Linux.POLLHUP)).isEqualTo(Linux.POLLERR | Linux.POLLHUP);
        assertThat(intOption(fd, Linux.SOL_SOCKET, Linux.SO_ERROR)).isEqualTo(Linux.ECONNREFUSED);
        assertThat(intOption(fd, Linux.SOL_SOCKET, Linux.SO_ERROR)).isZero();
        assertThat(poll(fd, Linux.POLLIN) & Linux.POLLERR).isZero();
    }

    @Test void aLostSynIsSentAgainAfterTheInitialRtoThenTwiceAsLateOnTheVirtualClock() {
        shim();
        int fd = tcpSocket(Linux.SOCK_NONBLOCK);
        shim.connect(fd, Linux.AF_INET, Ip4.REMOTE, 8080);
        ShimKernel.Frame first = sent(), second = sent(), third = sent();
        assertThat(Ip4.tcpSeq(second.data())).isEqualTo(Ip4.tcpSeq(first.data()));
        assertThat(second.nanos() - first.nanos()).as("RFC 6298's 1 s").isBetween(1_000 * MS, 1_001 * MS);
        assertThat(third.nanos() - second.nanos()).as("backed off").isBetween(2_000 * MS, 2_001 * MS);
    }

    @Test void aBlockingReadOnTheOtherThreadEndsWhenDataComes() throws Exception {
        shim();
        int fd = accepted();
        CompletableFuture<long[]> read = CompletableFuture.supplyAsync(() -> {
            int n = shim.receive(fd, ByteBuffer.allocate(100), 0, new int[5]);
            return new long[] {n, shim.time.readClockMicros()};
        }, r -> {
            Thread t = new Thread(r, "syscall");
            t.setDaemon(true);
            t.start();
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!shim.time.hasParkedCalls()) {
            assertThat(System.nanoTime()).as("the read parks").isLessThan(deadline);
            Thread.sleep(1);
        }
        shim.time.sleep(100 * MS);
        long at = shim.time.readClockMicros();
        inject(Ip4.ACK, PEER_ISN + 1, stackSeq, new byte[0], new byte[7]);
        long[] r = read.get(30, TimeUnit.SECONDS);
        assertThat(r[0]).isEqualTo(7);
        assertThat(r[1]).isEqualTo(at);
    }

    @Test void theEndOfTheStreamAndAResetAreReadAsLinuxReportsThem() {
        shim();
        int fd = accepted();
        inject(Ip4.ACK | Ip4.FIN, PEER_ISN + 1, stackSeq, new byte[0], new byte[0]);
        assertThat(poll(fd, Linux.POLLIN | Linux.POLLRDHUP)).isEqualTo(Linux.POLLIN | Linux.POLLRDHUP);
        assertThat(shim.receive(fd, ByteBuffer.allocate(10), 0, new int[5])).isZero();
        inject(Ip4.RST, PEER_ISN + 2, 0, new byte[0], new byte[0]);
        assertThat(poll(fd, Linux.POLLIN) & (Linux.POLLHUP | Linux.POLLERR)).isEqualTo(Linux.POLLHUP | Linux.POLLERR);
        assertThat(shim.send(fd, ByteBuffer.wrap(new byte[1]), 0, 0, 0, -1)).isEqualTo(-Linux.ECONNRESET);
        assertThat(shim.send(fd, ByteBuffer.wrap(new byte[1]), 0, 0, 0, -1)).isEqualTo(-Linux.EPIPE);
    }

    @Test void linuxOptionsMapToKextnets() {
        shim();
        int fd = tcpSocket(0);
        assertThat(intOption(fd, Linux.IPPROTO_TCP, Linux.TCP_NODELAY)).isZero();
        assertThat(setInt(fd, Linux.IPPROTO_TCP, Linux.TCP_NODELAY, 1)).isZero();
        assertThat(intOption(fd, Linux.IPPROTO_TCP, Linux.TCP_NODELAY)).isEqualTo(1);
        assertThat(setInt(fd, Linux.SOL_SOCKET, Linux.SO_SNDBUF, 21_000)).isZero();
        assertThat(intOption(fd, Linux.SOL_SOCKET, Linux.SO_SNDBUF)).as("doubled, as Linux").isEqualTo(42_000);
        assertThat(setInt(fd, Linux.SOL_SOCKET, Linux.SO_RCVBUF, 30_000)).isZero();
        assertThat(intOption(fd, Linux.SOL_SOCKET, Linux.SO_RCVBUF)).isEqualTo(60_000);
        assertThat(intOption(fd, Linux.IPPROTO_TCP, Linux.TCP_MAXSEG)).as("Linux's default before a connection").isEqualTo(536);
        assertThat(setInt(fd, Linux.IPPROTO_TCP, Linux.TCP_MAXSEG, 1100)).isZero();
        assertThat(intOption(fd, Linux.IPPROTO_TCP, Linux.TCP_MAXSEG)).isEqualTo(1100);
        assertThat(setInt(fd, Linux.IPPROTO_TCP, Linux.TCP_MAXSEG, 10)).isEqualTo(-Linux.EINVAL);
        assertThat(setInt(fd, Linux.IPPROTO_TCP, Linux.TCP_KEEPCNT, 0)).isEqualTo(-Linux.EINVAL);
        assertThat(setInt(fd, Linux.IPPROTO_TCP, 35 /* TCP_ZEROCOPY_RECEIVE */, 1)).isEqualTo(-Linux.ENOPROTOOPT);

        ByteBuffer cc = ByteBuffer.allocate(16);
        assertThat(shim.getOption(fd, Linux.IPPROTO_TCP, Linux.TCP_CONGESTION, cc)).isEqualTo(6);
        assertThat(new String(cc.array(), 0, 5)).isEqualTo("cubic");
        assertThat(shim.setOption(fd, Linux.IPPROTO_TCP, Linux.TCP_CONGESTION, ByteBuffer.wrap("reno\0".getBytes()))).isZero();
        assertThat(shim.getOption(fd, Linux.IPPROTO_TCP, Linux.TCP_CONGESTION, cc.clear())).isEqualTo(8);
        assertThat(new String(cc.array(), 0, 7)).isEqualTo("newreno");
        assertThat(shim.setOption(fd, Linux.IPPROTO_TCP, Linux.TCP_CONGESTION, ByteBuffer.wrap("bbr".getBytes()))).isZero();
        assertThat(shim.getOption(fd, Linux.IPPROTO_TCP, Linux.TCP_CONGESTION, cc.clear())).isEqualTo(4);
        assertThat(new String(cc.array(), 0, 3)).isEqualTo("bbr");
        assertThat(shim.setOption(fd, Linux.IPPROTO_TCP, Linux.TCP_CONGESTION, ByteBuffer.wrap("vegas".getBytes()))).isEqualTo(-Linux.ENOENT);

        assertThat(shim.connect(fd, Linux.AF_INET, Ip4.REMOTE, 8080)).as("blocking, on the main thread: 6 SYNs, then")
                .isEqualTo(-Linux.ETIMEDOUT);
        assertThat(Ip4.tcpOptions(shim.netdevReceive().data())).startsWith(2, 4, 0x04, 0x4c); // MSS 1100
    }

    @Test void lingerWithAZeroTimeoutMakesCloseAReset() {
        shim();
        int fd = accepted();
        assertThat(shim.setOption(fd, Linux.SOL_SOCKET, Linux.SO_LINGER,
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1).putInt(4, 0))).isZero();
        ByteBuffer out = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(shim.getOption(fd, Linux.SOL_SOCKET, Linux.SO_LINGER, out)).isEqualTo(8);
        assertThat(out.getInt(0)).isEqualTo(1);
        assertThat(shim.close(fd)).isZero();
        assertThat(Ip4.tcpFlags(sent().data()) & Ip4.RST).isEqualTo(Ip4.RST);
    }

    @Test void keepaliveProbesAfterTheIdleTimeSetInSeconds() {
        shim();
        int fd = accepted();
        assertThat(setInt(fd, Linux.IPPROTO_TCP, Linux.TCP_KEEPIDLE, 5)).isZero();
        assertThat(setInt(fd, Linux.SOL_SOCKET, Linux.SO_KEEPALIVE, 1)).isZero();
        assertThat(intOption(fd, Linux.IPPROTO_TCP, Linux.TCP_KEEPIDLE)).isEqualTo(5);
        long start = nanos();
        ShimKernel.Frame probe = sent();
        assertThat(probe.nanos() - start).isBetween(5_000 * MS, 5_001 * MS);
        assertThat(Ip4.tcpSeq(probe.data())).as("one below SND.NXT (RFC 9293 3.8.4)").isEqualTo(stackSeq - 1);
    }

    @Test void tcpInfoReportsTheStateTheWindowsScalesAndMssInLinuxsLayout() {
        shim();
        int fd = accepted();
        ByteBuffer info = ByteBuffer.allocate(TcpShimSocket.TCP_INFO_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(shim.getOption(fd, Linux.IPPROTO_TCP, Linux.TCP_INFO, info)).isEqualTo(TcpShimSocket.TCP_INFO_LENGTH);
        assertThat(info.get(0)).isEqualTo((byte) Linux.TCP_ESTABLISHED);
        assertThat(info.get(5)).isEqualTo((byte) (Linux.TCPI_OPT_SACK | Linux.TCPI_OPT_WSCALE));
        assertThat(info.get(6)).isEqualTo((byte) (7 | 7 << 4)); // both scales 7
        assertThat(info.getInt(16)).as("tcpi_snd_mss").isEqualTo(1000);
        assertThat(info.getInt(80)).as("tcpi_snd_cwnd, in segments").isEqualTo(10);
        assertThat(info.getInt(76)).as("tcpi_snd_ssthresh: infinite").isEqualTo(0x7fffffff);
        assertThat(info.getInt(60)).as("tcpi_pmtu").isEqualTo(1500);
        ByteBuffer shortInfo = ByteBuffer.allocate(8);
        assertThat(shim.getOption(fd, Linux.IPPROTO_TCP, Linux.TCP_INFO, shortInfo)).isEqualTo(8);
    }

    @Test void linuxSysctlsOfTheNamespaceConfigureTcpWhereKextnetHasTheSetting(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tcp_timestamps"), "0\n");
        Files.writeString(dir.resolve("tcp_rmem"), "4096\t540000\t15728640\n");
        Files.writeString(dir.resolve("tcp_wmem"), "4096 262144 4194304\n");
        Files.writeString(dir.resolve("tcp_syn_retries"), "5\n");
        Files.writeString(dir.resolve("tcp_congestion_control"), "reno\n");
        Files.writeString(dir.resolve("tcp_reordering"), "banana\n"); // not a number: left alone
        Files.writeString(dir.resolve("tcp_early_retrans"), "0\n");
        TcpConfig cfg = new TcpConfig();
        new LinuxSysctls(dir).applyTo(cfg);
        assertThat(cfg.timestamps).isFalse();
        assertThat(cfg.sack).isTrue(); // no file: unchanged
        assertThat(cfg.receiveBuffer).isEqualTo(540_000);
        assertThat(cfg.receiveBufferMax).isEqualTo(15_728_640);
        assertThat(cfg.sendBuffer).isEqualTo(262_144);
        assertThat(cfg.synRetries).isEqualTo(5);
        assertThat(cfg.congestionControl).isEqualTo("newreno");
        assertThat(cfg.dupThresh).isEqualTo(new TcpConfig().dupThresh);
        assertThat(cfg.tailLossProbe).isFalse();
    }
}
