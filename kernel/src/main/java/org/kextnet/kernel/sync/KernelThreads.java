package org.kextnet.kernel.sync;

import java.io.PrintStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The platform threads one kernel runs (driver readers, the timer, the reclaim thread, the watchdog), and the
 * kernel's rule for an error that escapes one of them: <b>no half-dead process</b>. Either the thread's work
 * survives, or the process ends with a message.
 *
 * <ul>
 * <li>A thread held past its hard limit by an extension call is abandoned by the watchdog, and its work moves to a
 * new thread ({@link #replace}): a {@link Worker} runs its body again on a fresh thread, and the old one ends
 * with {@link ThreadAbandoned} if the call ever returns.</li>
 * <li>A {@code RuntimeException} in kernel code is a bug that costs one packet or one batch: each thread's loop
 * reports it and goes on.</li>
 * <li>Anything else that escapes a kernel thread's loop (an {@code OutOfMemoryError} or another {@code Error} in
 * kernel code) goes to the kernel's fatal-error handler: the one set with {@link #onFatalError}, else the
 * process's default uncaught-exception handler (kern_loader installs one that exits 70), else this class's
 * own, which prints one line naming the error and the thread and halts the JVM with status
 * {@value #FATAL_STATUS} (EX_SOFTWARE), so that a supervisor restarts it. Errors thrown by extension code never
 * get here: the heads contain them and fault the extension.</li>
 * </ul>
 */
public final class KernelThreads {
    /** EX_SOFTWARE (sysexits.h), as kern_loader's: an internal error. */
    public static final int FATAL_STATUS = 70;
    /** Let go before the message is written, so that it can be written after an OutOfMemoryError. */
    private static volatile byte[] reserve = new byte[256 << 10];

    private final String kernelName;
    private final Set<Worker> workers = ConcurrentHashMap.newKeySet();
    private volatile Thread.UncaughtExceptionHandler fatal;
    private final Thread.UncaughtExceptionHandler handler = this::uncaught;

    public KernelThreads(String kernelName) {
        this.kernelName = kernelName;
    }

    /** The kernel's name, for thread names ("kextnet-NAME-..."). */
    public String kernelName() { return kernelName; }

    /**
     * Sets what happens to an error that escapes a kernel thread (null: the default rule above). The handler must
     * end the process or make sure the work goes on; the thread itself is gone.
     */
    public void onFatalError(Thread.UncaughtExceptionHandler h) { fatal = h; }

    /** A kernel thread whose work can move to a new thread when the watchdog abandons the one running it. */
    public final class Worker {
        private final String name;
        private final Runnable body;
        private volatile Thread thread;
        private boolean stopped;
        private int replacements;

        private Worker(String name, Runnable body) {
            this.name = name;
            this.body = body;
        }

        /** The thread doing the work now. */
        public Thread thread() { return thread; }

        /** Whether the calling thread is the one doing the work now (an abandoned one is not). */
        public boolean isCurrent() { return thread == Thread.currentThread(); }

        /** How many times the work moved to a new thread. */
        public synchronized int replacements() { return replacements; }

        synchronized boolean replace(Thread stuck) {
            if (stopped || thread != stuck) return false;
            replacements++;
            launch(name + "-r" + replacements);
            return true;
        }

        private void launch(String threadName) {
            Thread t = Thread.ofPlatform().name(threadName).daemon().uncaughtExceptionHandler(handler).unstarted(body);
            thread = t;
            t.start();
        }

        /** Starts the first thread. */
        public synchronized void start() {
            if (thread != null) throw new IllegalStateException(name + " is started");
            workers.add(this);
            launch(name);
        }

        /** No replacement from now on (the work is stopping); the current thread ends by itself. */
        public synchronized void stop() {
            stopped = true;
            workers.remove(this);
        }

        /** Stops replacements and waits up to {@code millis} for the current thread to end. */
        public void stopAndJoin(long millis) throws InterruptedException {
            stop();
            Thread t = thread;
            if (t != null && t != Thread.currentThread()) t.join(millis);
        }

        @Override public String toString() { return name; }
    }

    /**
     * A kernel thread that will run {@code body} once {@link Worker#start started}; if the watchdog abandons it,
     * {@code body} runs again on a new thread. The body must end when {@link Worker#isCurrent()} turns false.
     */
    public Worker worker(String name, Runnable body) {
        return new Worker(name, body);
    }

    /** Starts a one-off kernel thread (no replacement), under the same fatal-error rule. */
    public Thread startOnce(String name, Runnable body) {
        Thread t = Thread.ofPlatform().name(name).daemon().uncaughtExceptionHandler(handler).unstarted(body);
        t.start();
        return t;
    }

    /**
     * The watchdog abandoned {@code stuck}: if it runs a worker's body, the work starts again on a new thread.
     * @return whether a replacement started
     */
    public boolean replace(Thread stuck) {
        for (Worker w : workers) if (w.thread == stuck && w.replace(stuck)) return true;
        return false;
    }

    private void uncaught(Thread t, Throwable e) {
        if (e instanceof ThreadAbandoned) return; // its replacement carries on
        Thread.UncaughtExceptionHandler h = fatal;
        if (h == null) h = Thread.getDefaultUncaughtExceptionHandler();
        if (h != null) {
            h.uncaughtException(t, e);
            return;
        }
        exit(System.err, t, e);
    }

    /**
     * The default rule: a line on stderr naming the error and the thread, then the JVM halts with status 70. The
     * line is printed piece by piece (no string concatenation to link or allocate for) after a reserve is let go,
     * and the halt comes whatever the printing did, so that an exhausted heap cannot leave the process running.
     */
    private static void exit(PrintStream err, Thread t, Throwable e) {
        reserve = null;
        try {
            err.print("kextnet: fatal: ");
            err.print(e);
            err.print(" in kernel thread ");
            err.print(t.getName());
            err.print("; exiting with status ");
            err.print(FATAL_STATUS);
            err.println(" so that a supervisor can restart the process");
            if (!(e instanceof VirtualMachineError)) e.printStackTrace(err);
            err.flush();
        } catch (Throwable ignored) {
            // the exit matters more than the message
        } finally {
            Runtime.getRuntime().halt(FATAL_STATUS);
        }
    }
}
