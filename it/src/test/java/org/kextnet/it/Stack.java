package org.kextnet.it;

import java.util.LinkedHashMap;
import java.util.Map;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.config.InterfaceTypes;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.link.tun.TunDriver;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.InterfaceAddress;

/** Helpers that build a kernel with TUN/TAP interfaces whose Linux side lives in a test namespace. */
final class Stack {
    private Stack() {}

    /** A kernel with small pools: tests make several, and a pool's slab lives until the JVM exits. */
    static Kernel kernel(String name) {
        return new Kernel(name, new Buffers(2048, 32));
    }

    /**
     * Creates interface {@code ifName} over a new device in {@code ns}: the Linux side gets {@code peer},
     * our side {@code local}; both are up.
     */
    static Interface attach(Kernel kernel, NetNs ns, String ifName, TunDevice.Kind kind, String peer, String local,
                            String... extraOptions) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("dev", ns.device(kind == TunDevice.Kind.TUN ? "kt" : "kp"));
        o.put("netns", ns.name());
        o.put("peer", peer);
        for (int i = 0; i + 1 < extraOptions.length; i += 2) o.put(extraOptions[i], extraOptions[i + 1]);
        Interface ifp = InterfaceTypes.find(kind == TunDevice.Kind.TUN ? "tun" : "tap").create(kernel, ifName, o);
        kernel.addAddress(ifp, InterfaceAddress.parse(local));
        ifp.up();
        return ifp;
    }

    /** The Linux device name of an interface made by {@link #attach}. */
    static String dev(Interface ifp) {
        return ((TunDriver) ifp.driver()).device().name();
    }

    /**
     * Retries {@code assertion} for up to 10 s: the stack counts a packet on its own thread, possibly just
     * after the Linux peer saw the packet and the test went on.
     */
    static void eventually(Runnable assertion) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try {
                assertion.run();
                return;
            } catch (AssertionError e) {
                if (System.nanoTime() > deadline) throw e;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", ie);
            }
        }
    }

    /** "02:00:00:00:12:34" for a MAC held in the low 48 bits. */
    static String mac(long mac) {
        StringBuilder b = new StringBuilder();
        for (int i = 5; i >= 0; i--) {
            if (b.length() > 0) b.append(':');
            b.append(String.format("%02x", (mac >>> (8 * i)) & 0xff));
        }
        return b.toString();
    }
}
