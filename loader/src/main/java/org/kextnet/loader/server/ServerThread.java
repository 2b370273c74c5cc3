package org.kextnet.loader.server;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A loaded server's own thread (the thread kern_loader started in the server's task): INIT and FREE
 * routines, callouts, timeouts and PORT_DEATH calls run on it one at a time, in the order queued. A task
 * that throws is reported to {@code onFault} and the thread goes on.
 */
public final class ServerThread {
    private static final Runnable STOP = () -> {};
    private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final Consumer<Throwable> onFault;
    private volatile boolean stopping;

    public ServerThread(String serverName, ClassLoader contextLoader, Consumer<Throwable> onFault) {
        this.onFault = onFault;
        this.thread = Thread.ofPlatform().name("kern_server:" + serverName).daemon().unstarted(this::run);
        thread.setContextClassLoader(contextLoader);
        thread.start();
    }

    private void run() {
        try {
            while (true) {
                Runnable r = queue.take();
                if (r == STOP) return;
                try {
                    r.run();
                } catch (Throwable t) {
                    onFault.accept(t);
                }
            }
        } catch (InterruptedException e) {
            // forced termination
        } finally {
            queue.clear();
        }
    }

    /** Queues a task; false once the thread is stopping. */
    public boolean post(Runnable r) {
        if (stopping) return false;
        queue.add(r);
        return true;
    }

    /** Runs {@code c} on the server thread and waits for it at most {@code timeoutMillis}. */
    public <T> T call(Callable<T> c, long timeoutMillis) throws ExecutionException, TimeoutException, InterruptedException {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (!post(() -> {
            try {
                f.complete(c.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        })) throw new ExecutionException(new IllegalStateException("server thread stopped"));
        return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Stops the thread after the tasks already queued ({@code shutdown}); if it has not ended after
     * {@code timeoutMillis}, interrupts it and waits as long again.
     * @return whether it ended without being interrupted
     */
    public boolean shutdown(long timeoutMillis) throws InterruptedException {
        stopping = true;
        queue.add(STOP);
        if (thread.join(java.time.Duration.ofMillis(timeoutMillis))) return true;
        thread.interrupt();
        thread.join(java.time.Duration.ofMillis(timeoutMillis));
        return false;
    }

    /** Whether the caller is this server's thread. */
    public boolean isCurrent() { return Thread.currentThread() == thread; }

    public boolean alive() { return thread.isAlive(); }
}
