package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.hook.CallLimits;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.sync.ManualClock;
import org.kextnet.kernel.sync.ThreadAbandoned;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kpi.Callouts;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.interfacefilter.InterfaceFilter;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * Extensions cannot stall the kernel: a call into an extension that does not return within its head's hard
 * limit makes the watchdog quarantine the extension and abandon the thread; the thread's work goes on on a new
 * one; grace periods, timers and reclaims go on; the stuck thread, if its call returns, leaves without touching
 * what it handed over. Real reader threads over a memory wire, on the kernel's real clock (except where said),
 * with small limits; every wait is bounded and nothing asserts on elapsed time.
 */
class StuckExtensionTest {
    /** Soft 2 ms, hard 300 ms for every head: quick to trip, far from a healthy call. */
    private static final CallLimits QUICK = CallLimits.DEFAULT.withAll(2_000_000L, 300_000_000L);

    private KernelHarness k;
    private final List<Runnable> cleanups = new CopyOnWriteArrayList<>();

    private KernelHarness threaded(String name) {
        k = KernelHarness.builder().name(name).ethernet("wire0", "10.0.0.1/24").threaded(true).build();
        k.kernel().setCallLimits(QUICK);
        return k;
    }

    @AfterEach void tearDown() {
        for (Runnable r : cleanups) r.run(); // let stuck threads go before the kernel closes
        if (k != null) k.close();
    }

    /** A log that keeps what it is given. */
    static final class Log implements System.Logger {
        final List<String> lines = new CopyOnWriteArrayList<>();
        @Override public String getName() { return "test"; }
        @Override public boolean isLoggable(Level level) { return true; }
        @Override public void log(Level level, java.util.ResourceBundle b, String msg, Throwable t) {
            lines.add(level + " " + msg + (t == null ? "" : " " + t));
        }
        @Override public void log(Level level, java.util.ResourceBundle b, String format, Object... params) {
            lines.add(level + " " + format);
        }
        String all() { return String.join("\n", lines); }
    }

    private byte[] echo(int seq) {
        return Pkt.echo(0x77, seq, new byte[8]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes();
    }

    /** Sends an echo request from the peer and waits (up to 10 s) for its reply. */
    private boolean ping(int seq) throws InterruptedException {
        k.injectIp(echo(seq));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() - deadline < 0) {
            byte[] ip;
            while ((ip = k.readOutboundIp()) != null) {
                if (ip.length >= 28 && ip[9] == 1 && ip[20] == 0 && (((ip[26] & 0xff) << 8) | (ip[27] & 0xff)) == seq) return true;
            }
            Thread.sleep(2);
        }
        return false;
    }

    /** Holds the calling thread until {@code release} (at most a minute), as a call that sleeps or waits on a lock. */
    static void block(CountDownLatch release) {
        try {
            release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(2);
        }
    }

    /** An IP input filter that holds the thread of every echo request until released, like one that sleeps. */
    final class Holding implements IpFilter {
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicReference<Thread> held = new AtomicReference<>();
        final AtomicInteger detached = new AtomicInteger();

        Holding() { cleanups.add(release::countDown); }

        @Override public int input(Mbuf m, int offset, int protocol) {
            if (protocol == 1) {
                held.compareAndSet(null, Thread.currentThread());
                block(release);
            }
            return 0;
        }

        @Override public void detached() { detached.incrementAndGet(); }
    }

    @Test void aFilterThatSleepsIsQuarantinedAndPacketsGoOnThroughANewReader() throws Exception {
        threaded("sleepy");
        Log log = new Log();
        ExtensionHandle h = k.kernel().nke().open("com.example.sleepy", log);
        Holding f = new Holding();
        Registration reg = h.ipFilters().addV4("sleepy", Position.DEFAULT, f);
        // Another extension's filter behind it: it must keep working, and be detached normally later.
        ExtensionHandle other = k.kpi("com.example.other");
        AtomicInteger otherCalls = new AtomicInteger(), otherDetached = new AtomicInteger();
        Registration otherReg = other.ipFilters().addV4("other", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                otherCalls.incrementAndGet();
                return 0;
            }
            @Override public void detached() { otherDetached.incrementAndGet(); }
        });

        k.injectIp(echo(1)); // held in the filter
        await(() -> f.held.get() != null, "the filter to hold the reader");
        Thread stuck = f.held.get();

        for (int seq = 2; seq <= 5; seq++) assertThat(ping(seq)).as("echo %d answered", seq).isTrue();

        await(h::isStuck, "the watchdog to finish with the extension"); // its filters left the chain first
        assertThat(h.health()).isEqualTo(ExtensionHandle.Health.STUCK);
        assertThat(h.health().label()).isEqualTo("Faulted (stuck)");
        assertThat(h.awaitRemoved(10, TimeUnit.SECONDS)).as("every registration of the stuck extension removed").isTrue();
        assertThat(reg.state()).isEqualTo(Registration.State.FAULTED);
        assertThat(f.detached).as("a stuck extension's final callback is skipped").hasValue(0);
        assertThat(h.stuckIn()).contains("ipfilter sleepy", "thread " + stuck.getName(), "a new thread does its work");
        assertThat(k.kernel().nke().describe()).contains("com.example.sleepy (faulted (stuck), 0 faults)", "  stuck: ipfilter sleepy");
        assertThat(k.stat(Stat.NKE_STUCK)).isEqualTo(1);
        assertThat(k.kernel().watchdog().abandonedCalls()).isEqualTo(1);
        assertThat(log.all()).contains("ERROR ipfilter sleepy (extension com.example.sleepy): a call has not returned after",
                "Java cannot stop it", "at java.base/java.util.concurrent.CountDownLatch.await",
                "at org.kextnet.kernel.nke.StuckExtensionTest$Holding.input",
                "at org.kextnet.kernel.inet.IpFilters.walkInput").doesNotContain("RxRing");
        assertThat(otherCalls.get()).as("the other extension's filter saw the later echoes").isGreaterThanOrEqualTo(4);
        assertThat(other.health()).isEqualTo(ExtensionHandle.Health.OK);
        assertThatThrownBy(() -> h.ipFilters().addV4("again", Position.DEFAULT, new IpFilter() {}))
                .hasMessageContaining("is stuck");

        // Grace periods go on although the stuck thread never left its read-side section.
        ((org.kextnet.kpi.ipfilter.IpFilterRef) otherReg).remove();
        k.awaitDetached();
        assertThat(otherDetached).hasValue(1);

        // The sleeper wakes: its thread leaves without reading the ring again, and gives its buffers back.
        f.release.countDown();
        stuck.join(10_000);
        assertThat(stuck.isAlive()).as("the abandoned thread ended").isFalse();
        assertThat(ping(6)).isTrue();
        assertThat(k.stat(Stat.ICMP_OUT_ECHO_REPLY)).as("echo 1 was never answered, 2-6 were once each").isEqualTo(5);
        await(() -> k.leakedBuffers() <= 1, "buffers back"); // the echo the stuck call held is given up
        h.close();
    }

    @Test void aFilterThatSpinsIsQuarantinedAndTheSpinningThreadIsLeftAlone() throws Exception {
        threaded("spinner");
        ExtensionHandle h = k.kpi("com.example.spin");
        AtomicReference<Thread> spinning = new AtomicReference<>();
        boolean[] spin = {true};
        Object lock = new Object();
        cleanups.add(() -> {
            synchronized (lock) {
                spin[0] = false;
            }
        });
        h.ipFilters().addV4("spin", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                spinning.compareAndSet(null, Thread.currentThread());
                while (true) {
                    synchronized (lock) { // a busy loop the test can end, so no thread burns a core after it
                        if (!spin[0]) return 0;
                    }
                    Thread.onSpinWait();
                }
            }
        });
        k.injectIp(echo(1));
        await(() -> spinning.get() != null, "the filter to spin");
        for (int seq = 2; seq <= 4; seq++) assertThat(ping(seq)).as("echo %d answered", seq).isTrue();
        await(h::isStuck, "the watchdog to finish with the extension");
        assertThat(h.awaitRemoved(10, TimeUnit.SECONDS)).isTrue();
        assertThat(spinning.get().isAlive()).as("Java cannot stop it").isTrue();
        cleanups.getLast().run();
        spinning.get().join(10_000);
        assertThat(spinning.get().isAlive()).isFalse();
    }

    @Test void aCallOverItsSoftBudgetIsCountedAndLoggedButGoesOn() throws Exception {
        threaded("slow");
        k.kernel().setCallLimits(CallLimits.DEFAULT.with(Head.IP_FILTER, 2_000_000L, 5_000_000_000L));
        Log log = new Log();
        ExtensionHandle h = k.kernel().nke().open("com.example.slow", log);
        Registration reg = h.ipFilters().addV4("slow", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                try {
                    Thread.sleep(150); // far over the budget: the watchdog ticks many times meanwhile, even on a busy machine
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 0;
            }
        });
        for (int seq = 1; seq <= 3; seq++) assertThat(ping(seq)).isTrue();
        Registration.Counters c = reg.counters();
        assertThat(c.calls()).isEqualTo(3);
        assertThat(c.passed()).isEqualTo(3);
        assertThat(c.overBudget()).isEqualTo(3);
        assertThat(k.stat(Stat.NKE_OVER_BUDGET)).isEqualTo(3);
        // Logged by the watchdog, at most once a second per registration: the first report within a tick or two.
        await(() -> log.all().contains("over its 2.0 ms budget"), "the report of the calls over budget");
        assertThat(log.all()).contains("WARNING ipfilter slow (extension com.example.slow): a call took", "over budget so far)");
        assertThat(log.lines).allMatch(l -> l.startsWith("WARNING ipfilter slow")).hasSizeLessThanOrEqualTo(3);
        assertThat(h.health()).isEqualTo(ExtensionHandle.Health.OK);
        h.removeAll();
        assertThat(h.awaitRemoved(10, TimeUnit.SECONDS)).isTrue();
        h.close();
    }

    @Test void aStuckCalloutMovesTheTimersToANewThread() throws Exception {
        threaded("timers");
        ExtensionHandle stuckExt = k.kpi("com.example.stuck-callout");
        ExtensionHandle ticking = k.kpi("com.example.ticking");
        CountDownLatch release = new CountDownLatch(1);
        cleanups.add(release::countDown);
        AtomicInteger ticks = new AtomicInteger();
        Thread timer = k.kernel().timerThread();
        ticking.callouts().scheduleAtFixedRate(ticks::incrementAndGet, 5, TimeUnit.MILLISECONDS);
        stuckExt.callouts().schedule(() -> {
            block(release);
        }, 1, TimeUnit.MILLISECONDS);
        await(stuckExt::isStuck, "the callout to be abandoned");
        assertThat(k.kernel().timerThread()).isNotSameAs(timer);
        int before = ticks.get();
        await(() -> ticks.get() > before + 10, "the other extension's callout to keep running");
        assertThat(stuckExt.awaitRemoved(10, TimeUnit.SECONDS)).isTrue();
        release.countDown();
        timer.join(10_000);
        assertThat(timer.isAlive()).isFalse();
    }

    @Test void aStuckFinalCallbackMovesTheReclaimsToANewThread() throws Exception {
        threaded("reclaim");
        ExtensionHandle h = k.kpi("com.example.stuck-detach");
        CountDownLatch release = new CountDownLatch(1);
        cleanups.add(release::countDown);
        AtomicReference<Thread> in = new AtomicReference<>();
        var ref = h.ipFilters().addV4("x", Position.DEFAULT, new IpFilter() {
            @Override public void detached() {
                in.set(Thread.currentThread());
                block(release);
            }
        });
        ExtensionHandle other = k.kpi("com.example.after");
        AtomicInteger otherDetached = new AtomicInteger();
        var otherRef = other.ipFilters().addV4("y", Position.DEFAULT, new IpFilter() {
            @Override public void detached() { otherDetached.incrementAndGet(); }
        });
        Thread reclaim = k.kernel().grace().reclaimThread();
        ref.remove();
        await(() -> in.get() != null, "the final callback to start");
        otherRef.remove(); // queued behind the stuck one
        assertThat(h.awaitRemoved(10, TimeUnit.SECONDS)).as("the watchdog ended the stuck registration").isTrue();
        assertThat(ref.state()).isEqualTo(Registration.State.FAULTED);
        await(() -> otherDetached.get() == 1, "the other filter's detached on the new reclaim thread");
        assertThat(k.kernel().grace().reclaimThread()).isNotSameAs(reclaim);
        release.countDown();
        reclaim.join(10_000);
        assertThat(reclaim.isAlive()).isFalse();
    }

    @Test void anApplicationThreadHeldByAFilterGetsThreadAbandonedWhenItComesBack() throws Exception {
        threaded("app");
        ExtensionHandle h = k.kpi("com.example.out");
        CountDownLatch release = new CountDownLatch(1);
        cleanups.add(release::countDown);
        AtomicInteger outputs = new AtomicInteger();
        h.ipFilters().addV4("out", Position.DEFAULT, new IpFilter() {
            @Override public int output(Mbuf m, IpPacketOptions options) {
                if (outputs.incrementAndGet() == 1) {
                    block(release);
                }
                return 0;
            }
        });
        ExtensionHandle other = k.kpi("com.example.other");
        AtomicInteger otherDetached = new AtomicInteger();
        var otherRef = other.ipFilters().addV4("o", Position.DEFAULT, new IpFilter() {
            @Override public void detached() { otherDetached.incrementAndGet(); }
        });
        AtomicReference<Throwable> first = new AtomicReference<>();
        AtomicInteger sentAfter = new AtomicInteger();
        Thread app = Thread.ofPlatform().name("app").start(() -> {
            UdpSocket so = k.kernel().udp().open();
            try {
                try {
                    so.send(java.nio.ByteBuffer.allocate(4), k.peerIp(), 9);
                } catch (Throwable t) {
                    first.set(t);
                }
                so.send(java.nio.ByteBuffer.allocate(4), k.peerIp(), 9); // the same thread, a fresh context
                sentAfter.incrementAndGet();
            } catch (Exception e) {
                throw new AssertionError(e);
            } finally {
                so.close();
            }
        });
        await(h::isStuck, "the output filter to be abandoned");
        otherRef.remove();
        k.awaitDetached();
        assertThat(otherDetached).as("grace periods do not wait for the stuck application thread").hasValue(1);
        assertThat(h.awaitRemoved(10, TimeUnit.SECONDS)).isTrue();
        release.countDown();
        app.join(10_000);
        assertThat(first.get()).isInstanceOf(ThreadAbandoned.class).hasMessageContaining("ipfilter out");
        assertThat(sentAfter).hasValue(1);
    }

    @Test void theInnermostStuckCallIsBlamedNotTheExtensionThatMadeIt() throws Exception {
        threaded("nested");
        ExtensionHandle caller = k.kpi("com.example.caller");
        ExtensionHandle callee = k.kpi("com.example.callee");
        CountDownLatch release = new CountDownLatch(1);
        cleanups.add(release::countDown);
        callee.interfaceFilters().attach(k.ifp(), "ioctl-sleeper", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int ioctl(Ifnet ifp, int protocol, long command, Object argument) {
                block(release);
                return 0;
            }
        });
        Callouts.Callout c = caller.callouts().schedule(() -> k.ifp().ioctl(0, 0x1234, null), 1, TimeUnit.MILLISECONDS);
        await(callee::isStuck, "the interface filter to be abandoned");
        assertThat(caller.health()).isEqualTo(ExtensionHandle.Health.OK);
        assertThat(callee.stuckIn()).contains("iff ioctl-sleeper");
        assertThat(c).isNotNull();
    }

    @Test void anOuterCallThatLoopsOnFreshInnerCallsIsBlamedItself() throws Exception {
        threaded("loop");
        ExtensionHandle looper = k.kpi("com.example.looper");
        ExtensionHandle quick = k.kpi("com.example.quick");
        AtomicInteger ioctls = new AtomicInteger();
        quick.interfaceFilters().attach(k.ifp(), "quick", 0, Position.DEFAULT, new InterfaceFilter() {
            @Override public int ioctl(Ifnet ifp, int protocol, long command, Object argument) {
                ioctls.incrementAndGet();
                return 0;
            }
        });
        boolean[] loop = {true};
        Object lock = new Object();
        cleanups.add(() -> {
            synchronized (lock) {
                loop[0] = false;
            }
        });
        looper.callouts().schedule(() -> {
            while (true) {
                synchronized (lock) {
                    if (!loop[0]) return;
                }
                k.ifp().ioctl(0, 0x1234, null); // each a fresh, quick call into the other extension
            }
        }, 1, TimeUnit.MILLISECONDS);
        await(looper::isStuck, "the looping callout to be abandoned");
        assertThat(looper.stuckIn()).contains("callout");
        assertThat(quick.health()).as("its quick calls are not what is stuck").isEqualTo(ExtensionHandle.Health.OK);
        assertThat(ioctls.get()).isPositive();
    }

    @Test void onAManualClockTheHardLimitIsTheKernelsTime() throws Exception {
        ManualClock clock = new ManualClock();
        k = KernelHarness.builder().name("virtual").ethernet("wire0", "10.0.0.1/24").threaded(true).clock(clock).build();
        k.kernel().setCallLimits(CallLimits.DEFAULT.withAll(10_000_000L, 2_000_000_000L));
        ExtensionHandle h = k.kpi("com.example.held");
        Holding f = new Holding();
        h.ipFilters().addV4("held", Position.DEFAULT, f);
        k.injectIp(echo(1));
        await(() -> f.held.get() != null, "the filter to hold the reader");
        Thread.sleep(300); // real time alone does not make a call stuck ...
        assertThat(h.isStuck()).isFalse();
        k.advanceTime(3, TimeUnit.SECONDS); // ... the kernel's does
        await(h::isStuck, "the watchdog to see 3 s of the kernel's time");
        assertThat(ping(2)).isTrue();
    }
}
