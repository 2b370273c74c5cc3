package org.kextnet.kernel.hook;

import org.kextnet.kernel.hook.FilterChain;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kpi.Position;

/**
 * One filter in one {@link FilterChain}: the extension's filter object, its name and position, which
 * directions it handles ({@link #caps}), and its registration state. Heads read {@link #filter} and
 * {@link #caps} on the packet path; both are final.
 *
 * @param <F> the KPI filter type
 */
public abstract class FilterEntry<F> extends KernelRegistration {
    /** The extension's filter. */
    public final F filter;
    /** Bit set of directions/callbacks the filter implements (head-specific {@code CAP_*} bits). */
    public final int caps;
    final FilterChain<F> chain;
    final Position position;
    final int priority;
    /** Set when removed: where a resume-after-this-filter starts instead (null = after the end). */
    volatile FilterEntry<F> successor;
    volatile boolean unlinked;
    /** Set when replaced: the filter now in this one's place. */
    volatile FilterEntry<F> replacedBy;

    protected FilterEntry(FilterChain<F> chain, Owner owner, Head head, String kind, String name, Position position,
                          int priority, F filter, int caps) {
        super(owner, head, kind, name);
        this.chain = chain;
        this.position = position;
        this.priority = priority;
        this.filter = filter;
        this.caps = caps;
    }

    public Position position() { return position; }

    /** The effective priority (the anchor's, for a before/after position). */
    public int priority() { return priority; }

    public FilterChain<F> chain() { return chain; }

    @Override protected Object target() { return filter; }

    /**
     * The filter's final callback, or null if it has none: {@link FilterChain} runs it guarded after the grace
     * period that follows the removal, once (or never, if the extension is stuck).
     */
    protected abstract Runnable detached();

    @Override public boolean removeByKernel(Removal why) {
        chain.remove(this, why);
        return true;
    }

    @Override public String describe() {
        return super.describe() + " at " + position + (caps == 0 ? "" : "");
    }
}
