package org.kextnet.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.mbuf.Mbuf;

/**
 * Extensions cannot stall the kernel, with Linux on the other side of a TUN device: an IP filter that sleeps 10 s
 * on an echo request, and one that spins, hold the interface's reader thread; past the hard limit for IP filters
 * (1 s by default) the watchdog quarantines the extension and a new reader takes the device, so Linux's pings are
 * answered again within a second or two of the hang, on the kernel's real clock. The extension's registrations
 * are gone and its handle closes (the unload); the sleeping thread ends once its sleep does.
 */
class StuckFilterTest {
    private final Teardown teardown = new Teardown();
    private NetNs ns;
    private volatile boolean spin = true;

    @AfterEach void tearDown() throws Exception {
        spin = false; // a spinning filter's thread ends, rather than burn a core for the rest of the run
        teardown.close();
        if (ns != null) assertThat(ns.exists()).as("namespace deleted").isFalse();
    }

    /** Echo replies Linux's ping printed, by icmp_seq. */
    private static Set<Integer> replies(String pingOutput) {
        Set<Integer> seqs = new TreeSet<>();
        Matcher m = Pattern.compile("bytes from [0-9.]+: icmp_seq=(\\d+)").matcher(pingOutput);
        while (m.find()) seqs.add(Integer.parseInt(m.group(1)));
        return seqs;
    }

    private record Setup(Kernel kernel, Interface tun, ExtensionHandle ext) {}

    private Setup start(String name) {
        Requirements.require("ping");
        ns = teardown.add(NetNs.create("cnt"));
        Kernel kernel = teardown.add(Stack.kernel(name));
        Interface tun = Stack.attach(kernel, ns, "tun0", TunDevice.Kind.TUN, "10.123.7.1/24", "10.123.7.2/24");
        ExtensionHandle ext = kernel.nke().open("com.example." + name);
        return new Setup(kernel, tun, ext);
    }

    /**
     * Pings the stack 25 times, 5 a second, while {@code armed} makes the filter hang on the first echo: every echo
     * from the 11th on (2 s into the hang) is answered, and at least 20 of the 25 are.
     */
    private void pingThroughTheHang(Setup s, boolean[] armed) {
        String before = ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "2", "-W", "2", "10.123.7.2");
        assertThat(before).contains("2 packets transmitted, 2 received");
        armed[0] = true;
        NetNs.Result r = ns.exec(Duration.ofSeconds(60), "ping", "-c", "25", "-i", "0.2", "-W", "3", "10.123.7.2");
        Set<Integer> got = replies(r.output());
        r.output().lines().filter(l -> l.contains("packets transmitted")).forEach(l -> System.out.println(s.ext().name() + ": " + l
                + "; answered icmp_seq " + got));
        assertThat(got).as(r.toString()).containsAll(java.util.stream.IntStream.rangeClosed(11, 25).boxed().toList());
        assertThat(got.size()).as(r.toString()).isGreaterThanOrEqualTo(20);
        assertThat(s.tun().counters().get(IfCounters.IERRORS)).isZero();
    }

    private static void assertUnloads(Setup s) throws InterruptedException {
        ExtensionHandle ext = s.ext();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!ext.isStuck() && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(ext.health()).isEqualTo(ExtensionHandle.Health.STUCK);
        assertThat(ext.awaitRemoved(10, TimeUnit.SECONDS)).as("every registration removed").isTrue();
        assertThat(ext.registrations()).isEmpty();
        assertThat(s.kernel().nke().describe()).contains(ext.name() + " (faulted (stuck), 0 faults)");
        ext.close();
        assertThat(s.kernel().nke().find(ext.name())).as("unloaded").isNull();
        assertThat(s.kernel().stats().get(Stat.NKE_STUCK)).isEqualTo(1);
    }

    @Test void aFilterThatSleepsTenSecondsCannotStallTheInterface() throws Exception {
        Setup s = start("it-sleep");
        boolean[] armed = {false};
        AtomicReference<Thread> sleeper = new AtomicReference<>();
        Registration reg = s.ext().ipFilters().addV4("sleep", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                if (armed[0] && protocol == 1 && sleeper.compareAndSet(null, Thread.currentThread())) {
                    try {
                        Thread.sleep(10_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return 0;
            }
        });
        pingThroughTheHang(s, armed);
        assertUnloads(s);
        assertThat(reg.state()).isEqualTo(Registration.State.FAULTED);
        Thread stuck = sleeper.get();
        stuck.join(20_000);
        assertThat(stuck.isAlive()).as("the abandoned reader ended when its sleep did").isFalse();
        String after = ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "3", "-W", "2", "10.123.7.2");
        assertThat(after).contains("3 packets transmitted, 3 received");
    }

    @Test void aFilterThatSpinsCannotStallTheInterface() throws Exception {
        Setup s = start("it-spin");
        boolean[] armed = {false};
        AtomicReference<Thread> spinner = new AtomicReference<>();
        s.ext().ipFilters().addV4("spin", Position.DEFAULT, new IpFilter() {
            @Override public int input(Mbuf m, int offset, int protocol) {
                if (armed[0] && protocol == 1 && spinner.compareAndSet(null, Thread.currentThread())) {
                    while (spin) Thread.onSpinWait();
                }
                return 0;
            }
        });
        pingThroughTheHang(s, armed);
        assertUnloads(s);
        assertThat(spinner.get().isAlive()).as("Java cannot stop a spinning thread").isTrue();
        spin = false;
        spinner.get().join(20_000);
        assertThat(spinner.get().isAlive()).isFalse();
    }
}
