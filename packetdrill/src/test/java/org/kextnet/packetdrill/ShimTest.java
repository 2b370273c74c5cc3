package org.kextnet.packetdrill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The shim's Java half, driven as packetdrill drives it but without packetdrill: the test thread is packetdrill's
 * main thread (it creates the shim), a second thread stands for packetdrill's system-call thread.
 */
class ShimTest {
    private static final long MS = 1_000_000L;

    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private Shim shim;
    private int nextFd = 100;

    private Shim shim(String flags) {
        shim = new Shim(ShimConfig.parse(flags), SocketTypes.standard(), new PrintStream(logBytes, true, StandardCharsets.UTF_8));
        return shim;
    }

    private String log() { return logBytes.toString(StandardCharsets.UTF_8); }

    @AfterEach void close() {
        if (shim != null) shim.close();
    }

    /** A bound UDP socket on 192.168.0.1:port; returns its descriptor. */
    private int udp(int port, int flags) {
        int fd = nextFd++;
        assertThat(shim.socket(fd, Linux.AF_INET, Linux.SOCK_DGRAM | flags, 0)).isZero();
        assertThat(shim.bind(fd, Linux.AF_INET, Ip4.LOCAL, port)).isZero();
        return fd;
    }

    private long nanos() { return shim.time.now(); }

    @Test void aDatagramInIsReadWithItsSourceAndTheAnswerLeavesWithTheClocksTime() {
        shim("");
        int fd = udp(8080, 0);
        assertThat(shim.netdevSend(Ip4.udp(Ip4.REMOTE, 5000, Ip4.LOCAL, 8080, "hello".getBytes()))).isZero();

        ByteBuffer dst = ByteBuffer.allocateDirect(100);
        int[] meta = new int[5];
        assertThat(shim.receive(fd, dst, 0, meta)).isEqualTo(5);
        assertThat(meta).startsWith(Linux.AF_INET, Ip4.REMOTE, 5000);

        shim.time.sleep(30 * MS);
        assertThat(shim.send(fd, ByteBuffer.wrap("world!".getBytes()), 0, Linux.AF_INET, Ip4.REMOTE, 5000)).isEqualTo(6);
        ShimKernel.Frame f = shim.netdevReceive();
        assertThat(f).isNotNull();
        assertThat(f.nanos()).isEqualTo(30 * MS);
        assertThat(Ip4.protocol(f.data())).isEqualTo(Ip4.UDP);
        assertThat(Ip4.src(f.data())).isEqualTo(Ip4.LOCAL);
        assertThat(Ip4.dst(f.data())).isEqualTo(Ip4.REMOTE);
        assertThat(Ip4.srcPort(f.data())).isEqualTo(8080);
        assertThat(Ip4.dstPort(f.data())).isEqualTo(5000);
        assertThat(new String(Ip4.udpPayload(f.data()))).isEqualTo("world!");
    }

    @Test void usleepMovesTheClockExactlyAndGettimeofdayReadsIt() {
        shim("");
        long t0 = shim.time.readClockMicros();
        shim.time.sleep(1234 * MS);
        shim.netdevSend(Ip4.udp(Ip4.REMOTE, 1, Ip4.LOCAL, 9, new byte[0])); // an operation between the reads
        assertThat(shim.time.readClockMicros() - t0).isEqualTo(1_234_000);
    }

    @Test void aClockReadRightAfterAClockReadMovesTheClockAMicrosecondSoThatPacketdrillsSpinsEnd() {
        shim("");
        long a = shim.time.readClockMicros();
        long b = shim.time.readClockMicros();
        long c = shim.time.readClockMicros();
        assertThat(b - a).isEqualTo(1);
        assertThat(c - b).isEqualTo(1);
        shim.time.sleep(0);
        assertThat(shim.time.readClockMicros()).isEqualTo(c); // a read after another operation costs nothing
    }

    @Test void netdevReceiveMovesTheClockToTheTimerThatSendsAndStampsThePacketWithItsTime() {
        shim("");
        // The first fragment of a datagram whose rest never comes: reassembly's timer answers with ICMP time
        // exceeded (RFC 792) when it expires, 30 s on.
        byte[] l4 = new byte[16];
        shim.netdevSend(Ip4.ip(Ip4.REMOTE, Ip4.LOCAL, Ip4.UDP, 0x2000, l4));
        long start = nanos();
        long realStart = System.nanoTime();

        ShimKernel.Frame f = shim.netdevReceive();

        assertThat(f).isNotNull();
        assertThat(Ip4.protocol(f.data())).isEqualTo(Ip4.ICMP);
        assertThat(Ip4.icmpType(f.data())).isEqualTo(11); // time exceeded
        assertThat(Ip4.icmpCode(f.data())).isEqualTo(1);  // fragment reassembly
        assertThat(f.nanos() - start).isBetween(30_000 * MS, 30_100 * MS); // the slow timer's 100 ms granularity
        assertThat(nanos()).isEqualTo(f.nanos());
        assertThat(System.nanoTime() - realStart).as("30 s of virtual time").isLessThan(TimeUnit.SECONDS.toNanos(20));
    }

    @Test void netdevReceiveGivesUpAtOnceWhenNoTimerIsPending() {
        shim("max_wait=5");
        assertThat(shim.netdevReceive()).isNull();
        assertThat(nanos()).isZero();
        assertThat(log()).contains("no kernel timer is pending").contains("returning an empty packet");
    }

    @Test void netdevReceiveGivesUpAfterMaxWaitOfVirtualTimeAndSaysWhy() {
        shim("max_wait=5");
        org.kextnet.kernel.sync.Timeout far = new org.kextnet.kernel.sync.Timeout((t, now) -> {});
        shim.kernel.kernel().timers().scheduleAfter(far, 100_000 * MS); // a timer, but beyond max_wait
        assertThat(shim.netdevReceive()).isNull();
        assertThat(nanos()).isEqualTo(5_000 * MS);
        assertThat(log()).contains("nothing left the stack within max_wait=5 s").contains("returning an empty packet");
    }

    @Test void aBlockingReadOnTheMainThreadMovesTheClockToItsTimeoutAndFailsWithEagain() {
        shim("");
        int fd = udp(8080, 0);
        assertThat(shim.setOption(fd, Linux.SOL_SOCKET, Linux.SO_RCVTIMEO, timeval(0, 250_000))).isZero();
        assertThat(shim.receive(fd, ByteBuffer.allocate(10), 0, new int[5])).isEqualTo(-Linux.EAGAIN);
        assertThat(nanos()).isEqualTo(250 * MS);
        ByteBuffer out = ByteBuffer.allocate(16);
        assertThat(shim.getOption(fd, Linux.SOL_SOCKET, Linux.SO_RCVTIMEO, out)).isEqualTo(16);
        assertThat(out.order(ByteOrder.LITTLE_ENDIAN).getLong(8)).isEqualTo(250_000);
    }

    @Test void aBlockingReadOnTheMainThreadThatNothingCanCompleteFailsWithEintrInsteadOfHanging() {
        shim("max_wait=3");
        int fd = udp(8080, 0);
        assertThatThrownBy(() -> shim.receive(fd, ByteBuffer.allocate(10), 0, new int[5]))
                .isInstanceOf(VirtualTime.Stalled.class);
        assertThat(nanos()).isLessThanOrEqualTo(3_100 * MS);
        assertThat(log()).contains("would block forever").contains("EINTR");
    }

    @Test void aReadBlockedOnTheOtherThreadReturnsWhenTheDatagramComesAndReportsThatTimeAsItsEnd() throws Exception {
        shim("");
        int fd = udp(8080, 0);
        CompletableFuture<long[]> read = onSyscallThread(() -> {
            int n = shim.receive(fd, ByteBuffer.allocate(100), 0, new int[5]);
            return new long[] {n, shim.time.readClockMicros()};
        });
        awaitParked();
        shim.time.sleep(200 * MS);
        long sent = shim.time.readClockMicros();
        shim.netdevSend(Ip4.udp(Ip4.REMOTE, 5000, Ip4.LOCAL, 8080, new byte[20]));
        shim.time.sleep(5_000 * MS); // the driver moves on at once: the read still ends at the datagram's time

        long[] r = read.get(30, TimeUnit.SECONDS);
        assertThat(r[0]).isEqualTo(20);
        assertThat(r[1]).isEqualTo(sent);
    }

    @Test void aParkedReadTimesOutAtItsDeadlineWhileTheMainThreadSleepsPastIt() throws Exception {
        shim("");
        int fd = udp(8080, 0);
        shim.setOption(fd, Linux.SOL_SOCKET, Linux.SO_RCVTIMEO, timeval(0, 300_000));
        long t0 = shim.time.readClockMicros();
        CompletableFuture<long[]> read = onSyscallThread(() -> {
            int n = shim.receive(fd, ByteBuffer.allocate(100), 0, new int[5]);
            return new long[] {n, shim.time.readClockMicros()};
        });
        awaitParked();
        shim.time.sleep(1_000 * MS);

        long[] r = read.get(30, TimeUnit.SECONDS);
        assertThat(r[0]).isEqualTo(-Linux.EAGAIN);
        assertThat(r[1] - t0).isEqualTo(300_000);
    }

    @Test void closingADescriptorWakesTheCallParkedOnItWithEbadf() throws Exception {
        shim("");
        int fd = udp(8080, 0);
        CompletableFuture<long[]> read = onSyscallThread(() -> new long[] {shim.receive(fd, ByteBuffer.allocate(100), 0, new int[5])});
        awaitParked();
        assertThat(shim.close(fd)).isZero();
        assertThat(read.get(30, TimeUnit.SECONDS)[0]).isEqualTo(-Linux.EBADF);
    }

    @Test void pollWithATimeoutOnTheMainThreadLastsExactlyItsTimeoutAndSeesADatagram() {
        shim("");
        int fd = udp(8080, 0);
        int[] revents = new int[1];
        assertThat(shim.poll(new int[] {fd, Linux.POLLIN}, revents, 700)).isZero();
        assertThat(nanos()).isEqualTo(700 * MS);
        assertThat(revents[0]).isZero();

        shim.netdevSend(Ip4.udp(Ip4.REMOTE, 5000, Ip4.LOCAL, 8080, new byte[3]));
        assertThat(shim.poll(new int[] {fd, Linux.POLLIN | Linux.POLLOUT, 999, Linux.POLLIN, -1, Linux.POLLIN}, revents = new int[3], 0)).isEqualTo(2);
        assertThat(revents).containsExactly(Linux.POLLIN | Linux.POLLOUT, Linux.POLLNVAL, 0);
    }

    @Test void edgeTriggeredEpollReportsEachNewDatagramOnce() {
        shim("");
        int fd = udp(8080, Linux.SOCK_NONBLOCK);
        int ep = nextFd++;
        assertThat(shim.epollCreate(ep, 1)).isZero();
        assertThat(shim.epollControl(ep, Linux.EPOLL_CTL_ADD, fd, Linux.EPOLLIN | Linux.EPOLLET, 42)).isZero();
        assertThat(shim.epollControl(ep, Linux.EPOLL_CTL_ADD, fd, Linux.EPOLLIN, 42)).isEqualTo(-Linux.EEXIST);
        int[] ev = new int[4];
        long[] data = new long[4];
        assertThat(shim.epollWait(ep, ev, data, 4, 0)).isZero();

        shim.netdevSend(Ip4.udp(Ip4.REMOTE, 5000, Ip4.LOCAL, 8080, new byte[3]));
        assertThat(shim.epollWait(ep, ev, data, 4, 0)).isEqualTo(1);
        assertThat(ev[0]).isEqualTo(Linux.EPOLLIN);
        assertThat(data[0]).isEqualTo(42);
        assertThat(shim.epollWait(ep, ev, data, 4, 0)).isZero();
        shim.netdevSend(Ip4.udp(Ip4.REMOTE, 5000, Ip4.LOCAL, 8080, new byte[3])); // readable all along: still an edge
        assertThat(shim.epollWait(ep, ev, data, 4, 0)).isEqualTo(1);
        assertThat(shim.epollWait(ep, ev, data, 4, 250)).isZero();
        assertThat(nanos()).isEqualTo(250 * MS);
    }

    @Test void socketCallsAnswerWithLinuxErrnos() {
        shim("");
        int fd = nextFd++;
        assertThat(shim.socket(fd, Linux.AF_INET6, Linux.SOCK_DGRAM, 0)).isEqualTo(-Linux.EAFNOSUPPORT);
        assertThat(shim.socket(fd, Linux.AF_INET, Linux.SOCK_RAW, 0)).isEqualTo(-Linux.EPROTONOSUPPORT);
        assertThat(shim.socket(fd, Linux.AF_INET, Linux.SOCK_STREAM, Linux.IPPROTO_UDP)).isEqualTo(-Linux.EPROTONOSUPPORT);
        assertThat(shim.socket(fd, Linux.AF_INET, Linux.SOCK_DGRAM, Linux.IPPROTO_TCP)).isEqualTo(-Linux.EPROTONOSUPPORT);
        assertThat(shim.socket(fd, Linux.AF_INET, Linux.SOCK_DGRAM | 0x4000_0000, 0)).isEqualTo(-Linux.EINVAL);
        int a = udp(7000, 0);
        int b = nextFd++;
        shim.socket(b, Linux.AF_INET, Linux.SOCK_DGRAM, Linux.IPPROTO_UDP);
        assertThat(shim.bind(b, Linux.AF_INET, Ip4.LOCAL, 7000)).isEqualTo(-Linux.EADDRINUSE);
        assertThat(shim.bind(b, Linux.AF_INET, 0x0a000001, 7001)).isEqualTo(-Linux.EADDRNOTAVAIL);
        assertThat(shim.send(b, ByteBuffer.allocate(4), 0, -1, 0, -1)).isEqualTo(-Linux.EDESTADDRREQ);
        assertThat(shim.send(b, ByteBuffer.allocate(70_000), 0, Linux.AF_INET, Ip4.REMOTE, 9)).isEqualTo(-Linux.EMSGSIZE);
        assertThat(shim.listen(a, 5)).isEqualTo(-Linux.EOPNOTSUPP);
        assertThat(shim.shutdown(a, Linux.SHUT_WR)).isEqualTo(-Linux.ENOTCONN);
        assertThat(shim.shutdown(a, 7)).isEqualTo(-Linux.EINVAL);
        assertThat(shim.receive(12345, ByteBuffer.allocate(1), 0, new int[5])).isEqualTo(-Linux.EBADF);
        int ep = nextFd++;
        shim.epollCreate(ep, 1);
        assertThat(shim.receive(ep, ByteBuffer.allocate(1), 0, new int[5])).isEqualTo(-Linux.ENOTSOCK);
        assertThat(shim.getOption(a, Linux.SOL_SOCKET, 999, ByteBuffer.allocate(4))).isEqualTo(-Linux.ENOPROTOOPT);
        assertThat(shim.fcntl(a, 1234, 0)).isEqualTo(-Linux.EINVAL);
        assertThat(shim.ioctl(a, 0x1234, new int[1])).isEqualTo(-Linux.ENOTTY);
    }

    @Test void peekLeavesTheDatagramAndTruncReportsItsWholeLength() {
        shim("");
        int fd = udp(8080, Linux.SOCK_NONBLOCK);
        shim.netdevSend(Ip4.udp(Ip4.REMOTE, 5000, Ip4.LOCAL, 8080, "0123456789".getBytes()));
        int[] arg = new int[1];
        assertThat(shim.ioctl(fd, Linux.FIONREAD, arg)).isZero();
        assertThat(arg[0]).isEqualTo(10);
        ByteBuffer small = ByteBuffer.allocate(4);
        assertThat(shim.receive(fd, small, Linux.MSG_PEEK, new int[5])).isEqualTo(4);
        int[] meta = new int[5];
        assertThat(shim.receive(fd, ByteBuffer.allocate(4), Linux.MSG_TRUNC, meta)).isEqualTo(10);
        assertThat(meta[ShimSocket.META_FLAGS] & Linux.MSG_TRUNC).isNotZero();
        assertThat(shim.receive(fd, ByteBuffer.allocate(4), 0, new int[5])).isEqualTo(-Linux.EAGAIN);
    }

    @Test void theKernelAnswersAnEchoRequestAndADatagramToAClosedPort() {
        shim("");
        shim.netdevSend(Ip4.echoRequest(Ip4.REMOTE, Ip4.LOCAL, 7, 1, 56));
        ShimKernel.Frame reply = shim.netdevReceive();
        assertThat(Ip4.icmpType(reply.data())).isEqualTo(0);
        assertThat(reply.data()).hasSize(20 + 8 + 56);

        shim.netdevSend(Ip4.udp(Ip4.REMOTE, 5000, Ip4.LOCAL, 9, new byte[0]));
        ShimKernel.Frame unreach = shim.netdevReceive();
        assertThat(Ip4.icmpType(unreach.data())).isEqualTo(3);
        assertThat(Ip4.icmpCode(unreach.data())).isEqualTo(3);
        assertThat(Ip4.dst(unreach.data())).isEqualTo(Ip4.REMOTE);
    }

    @Test void aPingSocketSendsTheCallersEchoRequestWithItsIdentifierAndAChecksum() {
        shim("");
        int fd = nextFd++;
        assertThat(shim.socket(fd, Linux.AF_INET, Linux.SOCK_DGRAM, Linux.IPPROTO_ICMP)).isZero();
        assertThat(shim.bind(fd, Linux.AF_INET, 0, 4242)).isZero();
        byte[] msg = new byte[24];
        msg[0] = 8;
        msg[7] = 9; // sequence 9
        msg[20] = 'x';
        assertThat(shim.send(fd, ByteBuffer.wrap(msg), 0, Linux.AF_INET, Ip4.REMOTE, 0)).isEqualTo(24);
        byte[] p = shim.netdevReceive().data();
        int o = Ip4.l4(p);
        assertThat(Ip4.icmpType(p)).isEqualTo(8);
        assertThat((p[o + 4] & 0xff) << 8 | (p[o + 5] & 0xff)).isEqualTo(4242);
        assertThat(p[o + 7]).isEqualTo((byte) 9);
        assertThat(p[o + 20]).isEqualTo((byte) 'x');
        assertThat(checksumOk(p, o, p.length - o)).isTrue();

        msg[0] = 0; // not an echo request
        assertThat(shim.send(fd, ByteBuffer.wrap(msg), 0, Linux.AF_INET, Ip4.REMOTE, 0)).isEqualTo(-Linux.EINVAL);
        assertThat(shim.receive(fd, ByteBuffer.allocate(64), Linux.MSG_DONTWAIT, new int[5])).isEqualTo(-Linux.EOPNOTSUPP);
    }

    @Test void soFlagsAreCheckedWordByWord() {
        assertThat(ShimConfig.parse("local_ip=192.168.7.7, prefix=24 max_wait=9 verbose"))
                .isEqualTo(new ShimConfig(0xc0a80707, 24, 1500, 9_000_000_000L, true, false));
        assertThat(ShimConfig.parse("sysctls").sysctls()).isTrue();
        assertThat(ShimConfig.parse("local_ip=10.1.2.3 netmask=255.255.255.0 mtu=1400 local_ip=192.168.0.9").prefixLength()).isEqualTo(24);
        assertThat(ShimConfig.parse("local_ip=10.1.2.3 local_ip=192.168.0.9").localIp()).isEqualTo(0xc0a80009); // --so_flags come last
        assertThatThrownBy(() -> ShimConfig.parse("netmask=255.0.255.0")).hasMessageContaining("not contiguous");
        assertThatThrownBy(() -> ShimConfig.parse("frobnicate")).hasMessageContaining("unknown word 'frobnicate'");
        assertThatThrownBy(() -> ShimConfig.parse("mtu=12")).hasMessageContaining("mtu=12 is outside 576..65535");
        assertThatThrownBy(() -> ShimConfig.parse("max_wait=x")).hasMessageContaining("'max_wait=x': not a number");
        assertThatThrownBy(() -> ShimConfig.parse("local_ip=")).hasMessageContaining("needs a value");
    }

    // ---- helpers ----

    private static ByteBuffer timeval(long sec, long usec) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(sec).putLong(usec).flip();
    }

    private interface Call {
        long[] run();
    }

    /** Runs {@code call} on a thread of its own, as packetdrill's system-call thread runs a blocking call. */
    private static CompletableFuture<long[]> onSyscallThread(Call call) {
        CompletableFuture<long[]> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(call.run());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, "syscall");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** Waits (bounded) until a call of another thread has parked, as packetdrill waits for its thread to sleep. */
    private void awaitParked() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!shim.time.hasParkedCalls()) {
            if (System.nanoTime() > deadline) throw new AssertionError("the call did not park");
            Thread.sleep(1);
        }
    }

    private static boolean checksumOk(byte[] p, int from, int len) {
        long s = 0;
        for (int i = 0; i < len; i += 2) s += (p[from + i] & 0xff) << 8 | (i + 1 < len ? p[from + i + 1] & 0xff : 0);
        while ((s >>> 16) != 0) s = (s & 0xffff) + (s >>> 16);
        return s == 0xffff;
    }
}
