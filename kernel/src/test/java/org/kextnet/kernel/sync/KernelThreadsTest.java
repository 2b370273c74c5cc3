package org.kextnet.kernel.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** A worker's work moves to a new thread when the old one is given up on; an error escaping goes to the handler. */
class KernelThreadsTest {
    @Test void aReplacedWorkerRunsItsBodyOnANewThreadAndTheOldOneIsNoLongerCurrent() throws Exception {
        KernelThreads threads = new KernelThreads("t");
        List<Thread> ran = new CopyOnWriteArrayList<>();
        List<Boolean> currentAfterRelease = new CopyOnWriteArrayList<>();
        CountDownLatch release = new CountDownLatch(1);
        KernelThreads.Worker[] w = new KernelThreads.Worker[1];
        w[0] = threads.worker("kextnet-t-work", () -> {
            ran.add(Thread.currentThread());
            if (ran.size() == 1) {
                try {
                    release.await(30, TimeUnit.SECONDS); // the first thread is held, as by a stuck call
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                currentAfterRelease.add(w[0].isCurrent());
            }
        });
        w[0].start();
        Thread first = w[0].thread();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ran.isEmpty() && System.nanoTime() < deadline) Thread.sleep(1);

        assertThat(threads.replace(new Thread(() -> {}))).as("not a worker's thread").isFalse();
        assertThat(threads.replace(first)).isTrue();
        Thread second = w[0].thread();
        assertThat(second).isNotSameAs(first);
        assertThat(second.getName()).isEqualTo("kextnet-t-work-r1");
        second.join(10_000);
        assertThat(ran).containsExactly(first, second);
        assertThat(threads.replace(first)).as("only the current thread is replaced").isFalse();
        release.countDown();
        first.join(10_000);
        assertThat(currentAfterRelease).containsExactly(false);
        w[0].stop();
        assertThat(threads.replace(second)).as("a stopped worker is not restarted").isFalse();
    }

    @Test void anErrorThatEscapesAKernelThreadGoesToTheFatalErrorHandlerButThreadAbandonedDoesNot() throws Exception {
        KernelThreads threads = new KernelThreads("t");
        List<String> fatal = new CopyOnWriteArrayList<>();
        threads.onFatalError((t, e) -> fatal.add(t.getName() + ": " + e));
        threads.startOnce("kextnet-t-gone", () -> {
            throw new ThreadAbandoned("given up on");
        }).join(10_000);
        threads.startOnce("kextnet-t-oom", () -> {
            throw new OutOfMemoryError("Java heap space");
        }).join(10_000);
        KernelThreads.Worker w = threads.worker("kextnet-t-bug", () -> {
            throw new IllegalStateException("a bug no loop caught");
        });
        w.start();
        w.thread().join(10_000);
        assertThat(fatal).containsExactly("kextnet-t-oom: java.lang.OutOfMemoryError: Java heap space",
                "kextnet-t-bug: java.lang.IllegalStateException: a bug no loop caught");
    }
}
