package org.kextnet.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.IntConsumer;

/**
 * The daemon's rule for errors nothing caught (docs/reliability.md, "No half-dead daemon"): the process exits with
 * status {@value #STATUS} and a message naming the error and the thread, so that a supervisor restarts it, rather
 * than going on without the thread (the accept loop, a connection, the kernel's reader or timer). An extension's own
 * errors never get here: the loader contains them in the extension's thread and faults the extension.
 *
 * <p>The exit must happen even when the heap is exhausted, and a handler that throws leaves its thread dead and the
 * process alive. So the handler itself only hands the error over, under a monitor, to a platform thread started in
 * advance, which lets go of a reserve, writes the message straight to the file descriptor (one made in advance if even
 * that cannot be made), cleans up and halts. Reporting from the failing thread would not do: a virtual
 * thread's blocking write may have to start a carrier thread, which needs memory.
 */
final class FatalErrors implements Thread.UncaughtExceptionHandler {
    /** EX_SOFTWARE (sysexits.h): an internal error. */
    static final int STATUS = 70;

    private final PrintStream err;
    /** The same stream below any buffering: the fallback is written straight to it (a PrintStream's buffer may grow). */
    private final OutputStream rawErr;
    private final Runnable cleanup;
    private final IntConsumer halt;
    /** Let go first, so that the message and the clean-up can allocate after an OutOfMemoryError. */
    private volatile byte[] reserve = new byte[1 << 20];
    /** Written as they are if even the message cannot be made. */
    private final byte[] outOfMemory = fallback("java.lang.OutOfMemoryError"), other = fallback("an error");
    /** The first error and its thread; guarded by this. */
    private Throwable error;
    private Thread thread;
    private volatile boolean stopping;

    /**
     * @param cleanup best effort before the exit (the daemon removes its socket and pid file); its failures are ignored
     * @param halt    ends the process with a status ({@code Runtime.halt}: no shutdown hooks, which could hang on the
     *                very state that failed)
     */
    FatalErrors(PrintStream err, OutputStream rawErr, Runnable cleanup, IntConsumer halt) {
        this.err = err;
        this.rawErr = rawErr;
        this.cleanup = cleanup;
        this.halt = halt;
        // Run the report's code once now: the first run of a string concatenation, or of an exception handler, links and
        // resolves what it uses, which allocates; with the heap exhausted that would throw out of the report itself.
        for (Throwable dry : new Throwable[] {new OutOfMemoryError("dry run"), new IllegalStateException("dry run")}) {
            try {
                throw dry;
            } catch (Throwable caught) {
                message(caught, Thread.currentThread(), dry instanceof VirtualMachineError);
            }
        }
        Thread.ofPlatform().name("kern_loader-fatal").daemon().start(this::report);
    }

    /** The message's line, or the one made in advance if there is no memory left to make it. */
    private byte[] message(Throwable e, Thread t, boolean outOfMemory) {
        try {
            return ("kern_loader: fatal: " + e + " in thread " + t.getName() + "; exiting with status " + STATUS
                    + " so that a supervisor can restart kern_loader" + System.lineSeparator()).getBytes(StandardCharsets.UTF_8);
        } catch (Throwable noMemory) {
            return outOfMemory ? this.outOfMemory : other;
        }
    }

    /** Makes this the handler of every thread of the process that has none of its own. */
    static FatalErrors install(Runnable cleanup) {
        FatalErrors f = new FatalErrors(System.err, new FileOutputStream(FileDescriptor.err), cleanup, Runtime.getRuntime()::halt);
        Thread.setDefaultUncaughtExceptionHandler(f);
        return f;
    }

    private static byte[] fallback(String what) {
        return ("kern_loader: fatal: " + what + " in a daemon thread (no memory left to say more); exiting with status " + STATUS
                + " so that a supervisor can restart kern_loader" + System.lineSeparator()).getBytes(StandardCharsets.UTF_8);
    }

    /** An orderly exit has begun: from here on an uncaught exception is only printed, as the JVM would. */
    void stopping() {
        stopping = true;
    }

    /** Hands the error to the reporter; allocates nothing (a monitor and two fields). */
    @Override public void uncaughtException(Thread t, Throwable e) {
        if (stopping) {
            err.print("kern_loader: while stopping, in thread " + t.getName() + ": ");
            e.printStackTrace(err);
            return;
        }
        synchronized (this) {
            if (error == null) {
                error = e;
                thread = t;
                notifyAll();
            }
        }
    }

    /** The reporter: waits for the first error, then says what it was, cleans up and halts, whatever happens on the way. */
    private void report() {
        Throwable e;
        Thread t;
        synchronized (this) {
            while (error == null) {
                try {
                    wait();
                } catch (InterruptedException ignored) {
                    // only an error ends the wait
                }
            }
            e = error;
            t = thread;
        }
        reserve = null;
        try {
            // Straight to the descriptor: System.err's PrintStream, short of memory, may drop a line without a word.
            try {
                rawErr.write(message(e, t, e instanceof OutOfMemoryError));
            } catch (Throwable ignored) {
                // the exit matters more than the message
            }
            if (!(e instanceof VirtualMachineError)) {
                try {
                    e.printStackTrace(err);
                    err.flush();
                } catch (Throwable ignored) {
                    // the line above said what it was
                }
            }
            try {
                cleanup.run();
            } catch (Throwable ignored) {
                // best effort
            }
        } finally {
            halt.accept(STATUS); // whatever happened above
        }
    }
}
