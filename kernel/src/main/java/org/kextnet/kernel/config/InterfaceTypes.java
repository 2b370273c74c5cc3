package org.kextnet.kernel.config;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.link.loopback.LoopbackDriver;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.link.tun.TunDriver;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;

/** The interface types {@code ifconfig NAME create TYPE} knows: the kernel's built-in devices, by name. */
public final class InterfaceTypes {
    private static final Map<String, InterfaceFactory> TYPES = Map.of(
            "tun", (k, name, opts) -> overTun(k, name, TunDevice.Kind.TUN, opts),
            "tap", (k, name, opts) -> overTun(k, name, TunDevice.Kind.TAP, opts),
            "loopback", (k, name, opts) -> {
                KernelCommands.noOptions("loopback", opts);
                return k.createInterface(name, IfFamily.LOOPBACK, new LoopbackDriver(), 0, 16384);
            },
            "memwire", KernelCommands::createMemoryWire);

    private InterfaceTypes() {}

    public static InterfaceFactory find(String type) { return TYPES.get(type); }

    public static Set<String> names() { return new TreeSet<>(TYPES.keySet()); }

    private static Interface overTun(Kernel k, String name, TunDevice.Kind kind, Map<String, String> options) {
        TunDriver.Opened d = TunDriver.open(name, kind, options);
        try {
            return k.createInterface(name, d.family(), d.driver(), d.lladdr(), d.mtu());
        } catch (RuntimeException e) {
            d.driver().stop();
            throw e;
        }
    }
}
