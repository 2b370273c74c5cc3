package org.kextnet.kernel.config;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.kextnet.kernel.link.tun.TunDriver;

/** The interface types {@code ifconfig create} knows, by name ("tun", "tap", "memwire", ...). */
public final class InterfaceTypes {
    private static final Map<String, InterfaceFactory> TYPES = new ConcurrentHashMap<>();

    static {
        // The built-in device types; after TYPES exists, since registering uses it.
        TunDriver.registerTypes();
    }

    private InterfaceTypes() {}

    public static void register(String type, InterfaceFactory factory) { TYPES.put(type, factory); }

    public static InterfaceFactory find(String type) { return TYPES.get(type); }

    public static Set<String> names() { return new TreeSet<>(TYPES.keySet()); }
}
