package org.kextnet.kernel.hook;

/**
 * Which optional callbacks an extension's object implements (Netty's execution mask): a chain then skips a
 * filter in the directions it does not handle, so a filter that only watches input costs nothing on output.
 */
public final class Overrides {
    private Overrides() {}

    /** Whether {@code impl}'s class overrides {@code kpiType}'s default method {@code name(params)}. */
    public static boolean overrides(Object impl, Class<?> kpiType, String name, Class<?>... params) {
        try {
            return impl.getClass().getMethod(name, params).getDeclaringClass() != kpiType;
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException(kpiType.getSimpleName() + " has no method " + name, e);
        }
    }
}
