package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.loader.server.NkeBridge;
import org.kextnet.testkit.Frames;

/**
 * 1000 load and unload cycles of a server that uses what a server can hold (an instance, a callout, a
 * cancelled timeout, a wired buffer, static state, WIRE, messages with reply ports and PORT_DEATH) and is a
 * network kernel extension in a kernel joined to the loader: each load its {@code start} registers an IP filter,
 * a kernel control, an event subscription and a kernel callout; a packet goes through the filter and a client
 * talks to the control; its {@code stop} removes them all. Each cycle's registrations must be gone from the
 * kernel, each cycle's class loader must be collected, and loaded classes, metaspace and heap must stay flat.
 */
class ClassLoaderLeakTest {
    static final String BUSY = """
            package t;
            import org.kextnet.kpi.*;
            import org.kextnet.kpi.control.*;
            import org.kextnet.kpi.event.*;
            import org.kextnet.kpi.ipfilter.*;
            import org.kextnet.kpi.mbuf.Mbuf;
            import org.kextnet.kpi.server.*;
            import java.nio.ByteBuffer;
            import java.util.concurrent.TimeUnit;
            public final class Busy implements KernelExtension, IpFilter, KernelControl {
                static final java.util.List<Object> STATIC = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
                private KernServ.Timeout t;
                public int init(KernServ ks, int arg) {
                    STATIC.add(new Object());
                    ks.allocateWired(4096);
                    ks.callout(() -> STATIC.add("callout"));
                    t = ks.timeout(() -> STATIC.add("late"), 1, TimeUnit.HOURS);
                    return 0;
                }
                public int serve(KernServ ks, PortMessage m, int arg) { m.reply(m.id(), m.bytes()); return 0; }
                public void dead(KernServ ks, long port) { }
                public int free(KernServ ks, int arg) { t.cancel(); return 0; }

                private IpFilterRef filter;
                private ControlRef control;
                private Kpi kpi;
                public int start(Kpi kpi) {
                    this.kpi = kpi;
                    try {
                        filter = kpi.ipFilters().addV4("busy", Position.DEFAULT, this);
                        control = kpi.controls().register(ControlParams.named("busy"), this);
                    } catch (KpiException e) {
                        return e.errno();
                    }
                    kpi.events().subscribe(EventFilter.ANY, e -> STATIC.add(e));
                    kpi.callouts().schedule(() -> STATIC.add("kernel callout"), 1, TimeUnit.HOURS);
                    return 0;
                }
                public int stop(Kpi kpi) {
                    filter.remove();
                    if (control != null && kpi.controls().deregister(control) == 0) control = null;
                    return kpi.removeAll(); // the subscription and the callout; EBUSY until the filter's detached ran
                }
                @Override public int input(Mbuf m, int offset, int protocol) { STATIC.add(protocol); return 0; }
                @Override public int connect(ControlConnection c) { c.setUnitInfo(new Object()); return 0; }
                @Override public int send(ControlConnection c, Mbuf m, int flags) {
                    m.free();
                    return kpi.controls().enqueueData(control, c.unit(), ByteBuffer.wrap(new byte[] {42}), 0);
                }
            }
            """;

    @TempDir Path dir;

    @Test @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void thousandCyclesLeaveNothingBehind() throws Exception {
        TestJars.jar(dir, "busy.jar", "t.Busy", "1", null, Map.of("t.Busy", BUSY));
        try (KernelHarness k = KernelHarness.create(); KernLoader loader = joined(k)) {
            loader.add(TestJars.script(dir, "busy.kern_server",
                    Servers.script("busy", "busy.jar", "serve", "INIT init 0\nFREE free 0\nPORT_DEATH dead\nWIRE\n")));
            WeakReference<ClassLoader> first = null;
            for (int i = 0; i < 50; i++) {
                ClassLoader cl = cycle(loader, k, i);
                if (first == null) first = new WeakReference<>(cl);
            }
            ClassLoadingMXBean classes = ManagementFactory.getClassLoadingMXBean();
            settle(first);
            assertThat(first.get()).as("first cycle's class loader collected").isNull();
            long classes0 = classes.getLoadedClassCount();
            long meta0 = metaspace();
            long heap0 = heap();
            WeakReference<ClassLoader> later = null;
            for (int i = 50; i < 1000; i++) {
                ClassLoader cl = cycle(loader, k, i);
                if (i == 500) later = new WeakReference<>(cl);
            }
            settle(later);
            assertThat(later.get()).as("cycle 500's class loader collected").isNull();
            long classes1 = classes.getLoadedClassCount();
            long meta1 = metaspace();
            long heap1 = heap();
            System.out.printf("loaded classes %d -> %d, metaspace %d -> %d KiB, heap %d -> %d KiB%n",
                    classes0, classes1, meta0 >> 10, meta1 >> 10, heap0 >> 10, heap1 >> 10);
            // 950 cycles each defined one server class: a leak would add 950 classes and their metadata. Some classes
            // load late for other reasons (a path first taken on a loaded machine: the watchdog's over-budget log, a
            // lambda's hidden class), 133 seen under a load average of 23, so the bound sits well between the two.
            assertThat(classes1 - classes0).as("loaded classes").isLessThan(300);
            assertThat(meta1 - meta0).as("metaspace bytes").isLessThan(2L << 20);
            assertThat(heap1 - heap0).as("heap bytes").isLessThan(16L << 20);
        }
    }

    private static KernLoader joined(KernelHarness k) {
        NkeBridge bridge = new NkeBridge(k.kernel());
        return new KernLoader(LoaderOptions.defaults().withKernel(bridge, bridge));
    }

    /**
     * One cycle: a message (demand load: start registers), a packet through its filter and a control round trip,
     * then unload; checks the kernel holds nothing of it; returns that load's class loader.
     */
    private static ClassLoader cycle(KernLoader loader, KernelHarness k, int i) throws Exception {
        Ports.Result r = Ports.send(loader, "busy", i, new byte[] {(byte) i});
        assertThat(r.status()).isZero();
        assertThat(r.id()).isEqualTo(i);
        assertThat(k.kernel().nke().find("busy").registrations()).extracting(org.kextnet.kpi.Registration::kind)
                .containsExactly("ipfilter", "kctl", "kev", "callout");
        k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 9, new byte[] {(byte) i}));
        k.runPending();
        k.drainOutbound(k.link().name());
        try (ControlSocket so = k.kernel().controls().connect("busy", 0, false)) {
            assertThat(so.send(ByteBuffer.wrap(new byte[] {1}), 0)).isZero();
            assertThat(so.receive(ByteBuffer.allocate(4), 5, TimeUnit.SECONDS)).isEqualTo(1);
        }
        ClassLoader cl = loader.find("busy").linked.loader();
        loader.unload("busy");
        assertThat(k.kernel().nke().find("busy")).as("cycle %d: the extension's handle released", i).isNull();
        assertThat(k.kernel().controls().lookup("busy")).isEqualTo(-1);
        assertThat(k.kernel().ipv4().filters().v4().describe()).isEmpty();
        return cl;
    }

    private static void settle(WeakReference<?> ref) throws InterruptedException {
        for (int i = 0; i < 50 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        System.gc();
        Thread.sleep(20);
        System.gc();
    }

    private static long metaspace() {
        long used = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
            if (p.getType() == MemoryType.NON_HEAP && p.getName().equals("Metaspace")) used += p.getUsage().getUsed();
        return used;
    }

    private static long heap() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
