package org.kextnet.kpi;

import java.util.Objects;

/**
 * Where a filter goes in its chain. Chains run in ascending priority; among equal priorities, in the order
 * the filters were added. {@link #before} and {@link #after} place a filter next to a named one (and give it
 * that filter's priority); if no filter of that name is in the chain the registration fails with
 * {@link Errno#ENOENT}. The position is shown in status listings.
 *
 * @param priority   the priority (lower runs first on input and on output alike)
 * @param anchor     the name of the filter to place this one next to, or null
 * @param beforeAnchor true to go right before the anchor, false right after it
 */
public record Position(int priority, String anchor, boolean beforeAnchor) {
    /** The priority used by {@link #DEFAULT}. */
    public static final int DEFAULT_PRIORITY = 1000;
    /** Runs after every filter already in the chain with the default priority. */
    public static final Position DEFAULT = new Position(DEFAULT_PRIORITY, null, false);
    /** Runs before every filter of a higher priority, after the {@code FIRST} ones added earlier. */
    public static final Position FIRST = new Position(Integer.MIN_VALUE, null, false);
    /** Runs after every filter added so far. */
    public static final Position LAST = new Position(Integer.MAX_VALUE, null, false);

    /** A position by priority. */
    public static Position priority(int p) { return new Position(p, null, false); }

    /** Right before the filter named {@code name}. */
    public static Position before(String name) { return new Position(0, Objects.requireNonNull(name), true); }

    /** Right after the filter named {@code name}. */
    public static Position after(String name) { return new Position(0, Objects.requireNonNull(name), false); }

    @Override public String toString() {
        if (anchor != null) return (beforeAnchor ? "before " : "after ") + anchor;
        return "priority " + priority;
    }
}
