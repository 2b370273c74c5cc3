package org.kextnet.kernel.net;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A key to one layer's per-thread scratch state in a {@link PacketContext}: IPv4 input's route cache and
 * vectors, the link layer's gathering vector, the socket layer's reusable address. The layer that owns the
 * state declares the key as a constant beside its code, so {@code PacketContext} knows nothing of the layers
 * above it; the state is made on a context's first use and lives as long as the context.
 *
 * @param <T> the state's type
 */
public final class Scratch<T> {
    private static final AtomicInteger NEXT = new AtomicInteger();

    final int index = NEXT.getAndIncrement();
    final Supplier<? extends T> initial;

    private Scratch(Supplier<? extends T> initial) {
        this.initial = Objects.requireNonNull(initial);
    }

    /** A key whose state each context makes with {@code initial} when it first asks for it. */
    public static <T> Scratch<T> of(Supplier<? extends T> initial) { return new Scratch<>(initial); }

    /** How many keys exist: a new context sizes its table for them. */
    static int count() { return NEXT.get(); }
}
