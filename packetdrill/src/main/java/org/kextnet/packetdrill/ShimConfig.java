package org.kextnet.packetdrill;

import java.util.Locale;

import org.kextnet.kernel.wire.Ipv4;

/**
 * The shim's settings: words separated by spaces or commas, each {@code key=value} or a bare flag. The C side
 * puts packetdrill's own {@code --local_ip}, {@code --netmask_ip} and {@code --mtu} first (as {@code local_ip=},
 * {@code netmask=}, {@code mtu=}), then packetdrill's {@code --so_flags}; a later word overrides an earlier one.
 *
 * <ul>
 * <li>{@code local_ip=A.B.C.D} (default 192.168.0.1, what packetdrill's run_all.py passes as {@code --local_ip}):
 *     the kernel's address on the packetdrill interface.</li>
 * <li>{@code netmask=A.B.C.D} or {@code prefix=N} (default 16, run_all.py's {@code --netmask_ip=255.255.0.0}): its
 *     prefix.</li>
 * <li>{@code mtu=N} (default 1500): the interface's MTU.</li>
 * <li>{@code max_wait=SECONDS} (default 600): the longest virtual time {@code netdev_receive} moves the clock while
 *     nothing leaves the stack, and a blocking call on packetdrill's main thread waits, before giving up.</li>
 * <li>{@code verbose}: the shim says on stderr what it does with time and packets.</li>
 * <li>{@code sysctls}: each {@code socket()} first reads Linux's {@code net.ipv4.tcp_*} sysctls of the network
 *     namespace into the kernel's TCP settings where kextnet has the same setting ({@link LinuxSysctls}): for
 *     packetdrill's own scripts, which configure the stack that way.</li>
 * </ul>
 */
record ShimConfig(int localIp, int prefixLength, int mtu, long maxWaitNanos, boolean verbose, boolean sysctls) {
    static final String DEFAULT_LOCAL_IP = "192.168.0.1";
    static final int DEFAULT_PREFIX = 16, DEFAULT_MTU = 1500;
    static final long DEFAULT_MAX_WAIT_SECONDS = 600;

    static ShimConfig defaults() { return parse(""); }

    /** @throws IllegalArgumentException naming the word that is wrong */
    static ShimConfig parse(String flags) {
        int local = Ipv4.parse(DEFAULT_LOCAL_IP), prefix = DEFAULT_PREFIX, mtu = DEFAULT_MTU;
        long maxWait = DEFAULT_MAX_WAIT_SECONDS;
        boolean verbose = false, sysctls = false;
        for (String word : (flags == null ? "" : flags).trim().split("[\\s,]+")) {
            if (word.isEmpty()) continue;
            int eq = word.indexOf('=');
            String key = (eq < 0 ? word : word.substring(0, eq)).toLowerCase(Locale.ROOT);
            String value = eq < 0 ? null : word.substring(eq + 1);
            try {
                switch (key) {
                    case "local_ip" -> local = Ipv4.parse(need(key, value));
                    case "prefix" -> prefix = range(key, Integer.parseInt(need(key, value)), 1, 30);
                    case "netmask" -> prefix = range(key, prefixOf(need(key, value)), 1, 30);
                    case "mtu" -> mtu = range(key, Integer.parseInt(need(key, value)), 576, 65535);
                    case "max_wait" -> maxWait = range(key, Integer.parseInt(need(key, value)), 1, 86_400);
                    case "verbose" -> verbose = true;
                    case "sysctls" -> sysctls = true;
                    default -> throw new IllegalArgumentException("unknown word '" + word + "'");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + word + "': not a number");
            }
        }
        return new ShimConfig(local, prefix, mtu, maxWait * 1_000_000_000L, verbose, sysctls);
    }

    private static int prefixOf(String netmask) {
        int m = Ipv4.parse(netmask);
        int p = Integer.bitCount(m);
        if (m != Ipv4.mask(p)) throw new IllegalArgumentException("netmask " + netmask + " is not contiguous");
        return p;
    }

    private static String need(String key, String value) {
        if (value == null || value.isEmpty()) throw new IllegalArgumentException("'" + key + "' needs a value (" + key + "=...)");
        return value;
    }

    private static int range(String key, int v, int min, int max) {
        if (v < min || v > max) throw new IllegalArgumentException(key + "=" + v + " is outside " + min + ".." + max);
        return v;
    }
}
