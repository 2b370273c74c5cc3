package org.kextnet.bench;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.kextnet.examples.netem.Netem;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.config.InterfaceTypes;
import org.kextnet.kernel.inet.tcp.TcpService;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.stat.Stat;

/**
 * The kernel on one TUN device with the TCP echo (7), discard (9) and chargen (19) services, for the TCP benchmarks
 * over TUN ({@code bench/tcp/tcp-bench.sh}), with netem on the device when asked:
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... org.kextnet.bench.TunTcpMain \
 *     dev kpf0 netns NS peer 10.211.0.1/24 local 10.211.0.2/24 seconds 20 [mtu 1500] [route "default 10.211.0.1"]
 *     [netem "both delay 10ms"] [offload on|off] [cc cubic|newreno|bbr]
 * </pre>
 *
 * It prints {@code READY} once the device is up and the services listen, then runs for the given time (or until
 * killed) and prints {@code RESULT} with the TCP bytes received and sent in sequence, each over the seconds in which
 * any moved (so a script that loads it for part of the run gets the rate while loaded), the retransmissions, the
 * bytes its threads allocated, with netem netem's counters, and the kernel's statistics. The route argument is the {@code route add}
 * command's ({@code docs/configuration.md}), for a peer beyond the device's Linux side. The netem argument is netem's {@code set} command
 * without {@code set IF} ({@code docs/samples.md}): delay, loss and the rest on the stack's side of the device. The offload
 * argument is the {@code tun} type's ({@code docs/tun-tap.md}): checksum and segmentation offloads, on by default.
 */
public final class TunTcpMain {
    private TunTcpMain() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + args[i]);
            a.put(args[i], args[i + 1]);
        }
        double seconds = Double.parseDouble(a.getOrDefault("seconds", "10"));
        Map<String, String> options = new LinkedHashMap<>();
        options.put("dev", require(a, "dev"));
        for (String k : new String[] {"netns", "peer", "mtu", "offload"}) if (a.containsKey(k)) options.put(k, a.get(k));

        try (Kernel kernel = new Kernel("tcpbench", Buffers.standard())) {
            Interface ifp = InterfaceTypes.find("tun").create(kernel, "tun0", options);
            kernel.addAddress(ifp, InterfaceAddress.parse(require(a, "local")));
            if (a.containsKey("cc")) new KernelCommands(kernel).execute("sysctl net.inet.tcp.cc.algorithm=" + a.get("cc")); // refuses an unknown name
            ifp.up();
            if (a.containsKey("route")) new KernelCommands(kernel).execute("route add " + a.get("route"));
            if (a.containsKey("netem")) {
                Netem n = new Netem();
                if (n.start(kernel.nke().open(Netem.NAME)) != 0) throw new IllegalStateException("netem did not start");
                String answer = n.command("set tun0 " + a.get("netem"));
                if (answer.startsWith("error")) throw new IllegalArgumentException("netem: " + answer);
                netem = n;
            }
            try (TcpService echo = TcpService.start(kernel.tcp(), TcpService.Kind.ECHO, 0);
                 TcpService discard = TcpService.start(kernel.tcp(), TcpService.Kind.DISCARD, 0);
                 TcpService chargen = TcpService.start(kernel.tcp(), TcpService.Kind.CHARGEN, 0)) {
                System.out.println("READY " + ifp.driver().describe());
                System.out.flush();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> report(kernel), "report"));
                // Rates over the 100 ms slices in which bytes moved: the script loads the stack for part of the run.
                long end = System.nanoTime() + (long) (seconds * 1e9);
                long lastRcv = 0, lastSnd = 0;
                while (System.nanoTime() < end) {
                    Thread.sleep(100);
                    long r = kernel.stats().get(Stat.TCP_RCV_BYTES), s = kernel.stats().get(Stat.TCP_SND_BYTES);
                    synchronized (TunTcpMain.class) {
                        if (r != lastRcv) activeRcv += 0.1;
                        if (s != lastSnd) activeSnd += 0.1;
                    }
                    lastRcv = r;
                    lastSnd = s;
                }
            }
        }
    }

    private static volatile Netem netem;
    private static double activeRcv, activeSnd;
    private static boolean reported;

    /** Once, at the end or when killed. */
    private static synchronized void report(Kernel kernel) {
        if (reported) return;
        reported = true;
        long rcv = kernel.stats().get(Stat.TCP_RCV_BYTES), snd = kernel.stats().get(Stat.TCP_SND_BYTES);
        long allocated = 0;
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (long id : mx.getAllThreadIds()) allocated += Math.max(0, mx.getThreadAllocatedBytes(id));
        System.out.printf(Locale.ROOT, "RESULT kextnet rcv_bytes=%d rcv_active_s=%.1f rcv_Gbps=%.3f snd_bytes=%d"
                        + " snd_active_s=%.1f snd_Gbps=%.3f rexmit=%d rto=%d accepts=%d allocated_MB=%.1f%n",
                rcv, activeRcv, activeRcv == 0 ? 0 : rcv * 8 / activeRcv / 1e9, snd, activeSnd,
                activeSnd == 0 ? 0 : snd * 8 / activeSnd / 1e9, kernel.stats().get(Stat.TCP_SND_REXMIT),
                kernel.stats().get(Stat.TCP_RTO), kernel.stats().get(Stat.TCP_ACCEPTS), allocated / 1e6);
        Netem n = netem;
        if (n != null) System.out.println("NETEM " + n.command("show").replace("\n", " | "));
        System.out.print(kernel.stats().format(false));
        System.out.flush();
    }

    private static String require(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) throw new IllegalArgumentException("missing '" + key + " VALUE'");
        return v;
    }
}
