package org.kextnet.kernel.net;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

import org.kextnet.kernel.buf.BufferCache;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.stat.StatCells;
import org.kextnet.kernel.sync.GracePeriod;
import org.kextnet.kernel.sync.ThreadAbandoned;

/**
 * What a thread needs to run packet code: its own counters, its place in the kernel's grace periods, its cache
 * of buffers, and each layer's per-thread scratch ({@link Scratch}). Passing it explicitly keeps thread-local
 * lookups off the packet path. Owned by one thread at a time; not thread-safe.
 *
 * <p>A thread that runs packet code for its whole life (a driver's reader, the timer thread) opens one with
 * {@link Contexts#open}; any other thread (an application sending, an extension calling the KPI) leases one for
 * the length of a call ({@link Contexts#acquire}), from a small pool, so application threads, virtual ones
 * included, leave nothing behind.
 *
 * <p>{@link #enter()} and {@link #exit()} bracket a read-side section: while inside, no filter this thread
 * may have seen gets its {@code detached} call. Sections nest; only the outermost touches the shared counters,
 * so a reader thread enters once per batch and the filter heads' own enter costs a field increment.
 *
 * <p>Calls into extensions go through the context's {@link #calls} slot, which the kernel's watchdog watches.
 * When the watchdog gives up on a call ({@link #abandoned}), it ends the outermost section on the thread's behalf
 * and retires the context; who ends the section is settled by one CAS at the section's end, so that the stuck
 * thread, should it come back, never ends it a second time: it finds the section taken and unwinds with
 * {@link ThreadAbandoned}.
 */
public final class PacketContext implements CallSlot.Holder {
    private static final int FREE = 0, HELD = 1, TAKEN = 2;
    private static final VarHandle SECTION;
    static {
        try {
            SECTION = MethodHandles.lookup().findVarHandle(PacketContext.class, "section", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Contexts owner;
    private final StatCells stats;
    private final GracePeriod grace;
    private final int stripe;
    /** This thread's cache of MTU-sized buffers, or null: a leased context, which outlives its thread, has none. */
    private final BufferCache cache;
    private Object[] scratch = new Object[Scratch.count()];
    private int depth;
    private int token;
    /** Who holds the outermost section: FREE, HELD by this thread, or TAKEN by the watchdog. */
    private int section;
    /** Set when the watchdog gave up on this context's thread (its slot's state says so first). */
    private volatile boolean abandoned;
    /** Whether the context retired (its counts folded in): once, by its thread's close or by the watchdog. */
    private final java.util.concurrent.atomic.AtomicBoolean retired = new java.util.concurrent.atomic.AtomicBoolean();
    /** What this thread is calling in extensions; the watchdog looks at it every tick. */
    public final CallSlot calls;
    /** Nested {@link Contexts#acquire} calls holding this context on its current thread. */
    int holds;
    /** Whether this context is leased from the pool, rather than owned by its thread. */
    final boolean leased;

    /** The frame description this thread reuses between a protocol's pre-output and the framer. */
    public final FrameInfoImpl frame = new FrameInfoImpl();
    /**
     * Whether this thread is inside a vector of received packets: a batch that arrives meanwhile (an
     * extension's input from a callback) goes through the stack one packet at a time, leaving the vectors
     * in use alone.
     */
    public boolean inVector;

    PacketContext(Contexts owner, StatCells stats, GracePeriod grace, int stripe, BufferCache cache, boolean leased) {
        this.owner = owner;
        this.calls = owner.watchdog().newSlot(this, stats);
        this.stats = stats;
        this.grace = grace;
        this.stripe = stripe;
        this.cache = cache;
        this.leased = leased;
    }

    /** The contexts of the kernel this one belongs to. */
    public Contexts owner() { return owner; }

    /** This thread's counters. */
    public StatCells stats() { return stats; }

    /** The state layer {@code key} keeps for this thread, made on first use. */
    @SuppressWarnings("unchecked")
    public <T> T scratch(Scratch<T> key) {
        Object[] a = scratch;
        int i = key.index;
        Object o;
        if (i < a.length && (o = a[i]) != null) return (T) o;
        return makeScratch(key);
    }

    private <T> T makeScratch(Scratch<T> key) {
        if (key.index >= scratch.length) scratch = Arrays.copyOf(scratch, Math.max(Scratch.count(), key.index + 1));
        T t = key.initial.get();
        scratch[key.index] = t;
        return t;
    }

    /**
     * An MTU-sized buffer (as {@code Buffers.alloc()}), from this thread's cache when it has one: no atomic
     * operation per buffer. Null when the pool is empty.
     */
    public Packet alloc() {
        return cache != null ? cache.alloc() : owner.buffers().alloc();
    }

    /** A buffer for {@code dataLength} bytes (as {@code Buffers.alloc(int)}), or null. */
    public Packet alloc(int dataLength) {
        if (cache != null && dataLength <= cache.pool().maxData()) return cache.alloc();
        return owner.buffers().alloc(dataLength);
    }

    /** Frees a packet (as {@link Packet#free()}), into this thread's cache when it has one. */
    public void free(Packet m) {
        if (cache != null) cache.free(m);
        else m.free();
    }

    /**
     * Frees what the layers' vectors on this thread still hold and empties them, so that the next batch
     * starts clean. For the last guard around a batch: only a kernel bug leaves packets there.
     */
    public void discardVectors() {
        for (Object o : scratch) {
            if (o instanceof Discardable d) {
                d.discard(this);
            } else if (o instanceof Packet[] vector) {
                for (int i = 0; i < vector.length; i++) {
                    Packet m = vector[i];
                    vector[i] = null;
                    if (m != null) free(m);
                }
            }
        }
    }

    /** Scratch state that may hold packets between the stages of a vector ({@link #discardVectors}). */
    public interface Discardable {
        /** Frees every packet held and empties the state. */
        void discard(PacketContext ctx);
    }

    /** Closes a context its thread owned: see {@link Contexts#open}. */
    public void close() { owner.close(this); }

    /** Gives the cached buffers back (the owner's close). */
    void closeCache() {
        if (cache != null) cache.close();
    }

    /**
     * Enters a read-side section (nested sections only count).
     * @throws ThreadAbandoned if the watchdog gave up on this thread
     */
    @Override public void enter() {
        if (depth++ == 0) {
            if (isAbandoned()) {
                depth--;
                throw calls.abandonedError();
            }
            token = grace.enter(stripe);
            SECTION.setRelease(this, HELD);
        }
    }

    /**
     * Leaves the section entered last.
     * @throws ThreadAbandoned if the watchdog ended the outermost section on this thread's behalf
     */
    @Override public void exit() {
        if (--depth == 0) {
            if (SECTION.compareAndSet(this, HELD, FREE)) {
                grace.exit(token);
            } else {
                throw calls.abandonedError(); // the watchdog ended the section on this thread's behalf
            }
        }
    }

    /**
     * Whether the watchdog gave up on this context's thread: true from the moment it claimed the call, which the
     * thread may find out (and unwind) before the watchdog has finished with the context.
     */
    public boolean isAbandoned() { return abandoned || calls.isAbandoned(); }

    /** Claims the context's retirement; true for the one caller that does it. */
    boolean retireOnce() { return retired.compareAndSet(false, true); }

    /**
     * The watchdog gave up on the call in progress (on its own thread): the section the stuck thread holds is
     * ended here, unless the thread ended it itself meanwhile, and the context retires (its counts are folded in,
     * it never goes back to the pool).
     */
    @Override public void abandoned(CallSlot slot) {
        abandoned = true;
        if (SECTION.compareAndSet(this, HELD, TAKEN)) grace.exit(token);
        owner.abandoned(this);
    }

    /** Whether this thread is inside a read-side section. */
    public boolean inSection() { return depth > 0; }
}
