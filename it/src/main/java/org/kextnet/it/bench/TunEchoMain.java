package org.kextnet.it.bench;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.config.InterfaceTypes;
import org.kextnet.kernel.inet.udp.UdpEchoService;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;

/**
 * The kernel on one TUN (or TAP) device with the UDP echo service on port 7 and ICMP echo, for the TUN
 * echo benchmark ({@code bench/tun/tun-echo-bench.sh}) and for trying the stack by hand:
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... org.kextnet.it.bench.TunEchoMain \
 *     dev kbt0 netns NS peer 10.210.0.1/24 local 10.210.0.2/24 seconds 10 [warmup 3] [queues 2] [mtu N] [tap]
 * </pre>
 *
 * It prints {@code READY} once the device is configured, runs for the given time, then prints the
 * interface counters, the packets echoed per second over the run and the bytes its reader threads
 * allocated per packet (over the whole run, and after the first {@code warmup} seconds, when the JIT has
 * compiled the path), and exits (closing the device, which Linux then removes).
 */
public final class TunEchoMain {
    private TunEchoMain() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        boolean tap = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("tap")) {
                tap = true;
            } else if (i + 1 < args.length) {
                a.put(args[i], args[++i]);
            } else {
                throw new IllegalArgumentException("missing value for " + args[i]);
            }
        }
        String local = require(a, "local");
        double seconds = Double.parseDouble(a.getOrDefault("seconds", "10"));
        double warmup = Double.parseDouble(a.getOrDefault("warmup", "0"));
        Map<String, String> options = new LinkedHashMap<>();
        options.put("dev", require(a, "dev"));
        for (String k : new String[] {"netns", "peer", "queues", "mtu"}) if (a.containsKey(k)) options.put(k, a.get(k));

        try (Kernel kernel = new Kernel("echo", Buffers.standard())) {
            Interface ifp = InterfaceTypes.find(tap ? "tap" : "tun").create(kernel, tap ? "tap0" : "tun0", options);
            kernel.addAddress(ifp, InterfaceAddress.parse(local));
            ifp.up();
            try (UdpEchoService echo = UdpEchoService.start(kernel.udp(), UdpEchoService.PORT)) {
                System.out.println("READY " + ifp.driver().describe() + " local " + local);
                System.out.flush();
                long t0 = System.nanoTime();
                long in0 = ifp.counters().get(IfCounters.IPACKETS), out0 = ifp.counters().get(IfCounters.OPACKETS);
                long alloc0 = readerAllocatedBytes(kernel, ifp);
                // Each second: the packets in and the bytes the readers allocated, to show the steady state.
                long end = t0 + (long) (seconds * 1e9);
                long warmEnd = t0 + (long) (warmup * 1e9);
                long steadyIn0 = -1, steadyAlloc0 = 0;
                long lastIn = in0, lastAlloc = alloc0;
                StringBuilder perSecond = new StringBuilder();
                while (System.nanoTime() < end) {
                    Thread.sleep(Math.max(1, Math.min(1000, (end - System.nanoTime()) / 1_000_000)));
                    long i = ifp.counters().get(IfCounters.IPACKETS), al = readerAllocatedBytes(kernel, ifp);
                    perSecond.append(String.format(Locale.ROOT, " %d/%d", i - lastIn, al - lastAlloc));
                    lastIn = i;
                    lastAlloc = al;
                    if (steadyIn0 < 0 && System.nanoTime() >= warmEnd) {
                        steadyIn0 = i;
                        steadyAlloc0 = al;
                    }
                }
                double el = (System.nanoTime() - t0) / 1e9;
                long in = ifp.counters().get(IfCounters.IPACKETS) - in0;
                long out = ifp.counters().get(IfCounters.OPACKETS) - out0;
                long alloc = readerAllocatedBytes(kernel, ifp) - alloc0;
                System.out.println("PER_SECOND packets/reader_bytes_allocated:" + perSecond);
                long steadyIn = steadyIn0 < 0 ? 0 : ifp.counters().get(IfCounters.IPACKETS) - steadyIn0;
                long steadyAlloc = steadyIn0 < 0 ? 0 : readerAllocatedBytes(kernel, ifp) - steadyAlloc0;
                System.out.printf(Locale.ROOT, "RESULT kextnet secs=%.3f in_pkts=%d out_pkts=%d in_pps=%.0f out_pps=%.0f"
                                + " ierrors=%d idrops=%d oerrors=%d odrops=%d alloc_bytes_per_pkt=%.3f"
                                + " after_warmup_pkts=%d after_warmup_alloc_bytes_per_pkt=%.3f critical=%s%n",
                        el, in, out, in / el, out / el,
                        ifp.counters().get(IfCounters.IERRORS), ifp.counters().get(IfCounters.IDROPS),
                        ifp.counters().get(IfCounters.OERRORS), ifp.counters().get(IfCounters.ODROPS),
                        in == 0 ? 0.0 : (double) alloc / in, steadyIn, steadyIn == 0 ? 0.0 : (double) steadyAlloc / steadyIn,
                        System.getProperty("kextnet.tun.critical", "true"));
                System.out.print(kernel.stats().format(false));
                System.out.flush();
            }
        }
    }

    /** Bytes allocated so far by this interface's reader threads (HotSpot's per-thread counter). */
    private static long readerAllocatedBytes(Kernel kernel, Interface ifp) {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        String prefix = "kextnet-" + kernel.name() + "-" + ifp.name();
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith(prefix)) sum += mx.getThreadAllocatedBytes(t.threadId());
        }
        return sum;
    }

    private static String require(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) throw new IllegalArgumentException("missing '" + key + " VALUE'");
        return v;
    }
}
