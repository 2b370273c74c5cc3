package org.kextnet.kernel.config;

import java.util.Map;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.net.Interface;

/**
 * Creates an interface of one type for {@code ifconfig NAME create TYPE [key value ...]}: opens the device,
 * makes its driver and calls {@link Kernel#createInterface}. Registered by type name in
 * {@link InterfaceTypes}.
 */
@FunctionalInterface
public interface InterfaceFactory {
    /**
     * @param options the {@code key value} pairs after the type, in order
     * @throws IllegalArgumentException for an unknown or malformed option (the message names it)
     * @throws java.io.UncheckedIOException if the device cannot be opened
     */
    Interface create(Kernel kernel, String name, Map<String, String> options);
}
