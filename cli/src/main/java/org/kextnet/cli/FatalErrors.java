package org.kextnet.cli;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;

/**
 * The daemon's rule for errors nothing caught (docs/reliability.md, "No half-dead daemon"): the process exits with
 * status {@value #STATUS} and a message naming the error and the thread, so that a supervisor restarts it, rather
 * than going on without the thread (the accept loop, a connection, the kernel's reader or timer). An extension's own
 * errors never get here: the loader contains them in the extension's thread and faults the extension.
 *
 * <p>The message must come out even when the heap is exhausted: a reserve is let go first, and only one thread
 * reports (the others wait for the end).
 */
final class FatalErrors implements Thread.UncaughtExceptionHandler {
    /** EX_SOFTWARE (sysexits.h): an internal error. */
    static final int STATUS = 70;

    private final PrintStream err;
    private final Runnable cleanup;
    private final IntConsumer halt;
    private final AtomicBoolean dying = new AtomicBoolean();
    private volatile boolean stopping;
    /** Let go before anything else, so that the message and the clean-up can allocate after an OutOfMemoryError. */
    private volatile byte[] reserve = new byte[1 << 20];

    /**
     * @param cleanup best effort before the exit (the daemon removes its socket and pid file); its failures are ignored
     * @param halt    ends the process with a status ({@code Runtime.halt}: no shutdown hooks, which could hang on the
     *                very state that failed)
     */
    FatalErrors(PrintStream err, Runnable cleanup, IntConsumer halt) {
        this.err = err;
        this.cleanup = cleanup;
        this.halt = halt;
    }

    /** Makes this the handler of every thread of the process that has none of its own. */
    static FatalErrors install(Runnable cleanup) {
        FatalErrors f = new FatalErrors(System.err, cleanup, Runtime.getRuntime()::halt);
        Thread.setDefaultUncaughtExceptionHandler(f);
        return f;
    }

    /** An orderly exit has begun: from here on an uncaught exception is only printed, as the JVM would. */
    void stopping() {
        stopping = true;
    }

    @Override public void uncaughtException(Thread t, Throwable e) {
        reserve = null;
        if (stopping) {
            err.print("kern_loader: while stopping, in thread " + t.getName() + ": ");
            e.printStackTrace(err);
            return;
        }
        if (!dying.compareAndSet(false, true)) return; // another thread is reporting; the process ends with it
        try {
            err.println("kern_loader: fatal: " + e + " in thread " + t.getName() + "; exiting with status " + STATUS
                    + " so that a supervisor can restart kern_loader");
            if (!(e instanceof VirtualMachineError)) e.printStackTrace(err);
            err.flush();
        } catch (Throwable ignored) {
            // the exit matters more than the message
        }
        try {
            cleanup.run();
        } catch (Throwable ignored) {
            // best effort
        }
        halt.accept(STATUS);
    }
}
