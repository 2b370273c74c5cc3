package org.kextnet.kernel.sync;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.sync.GracePeriod;

/** Grace periods: a writer waits for every reader that entered before it, and only for those. */
class GracePeriodTest {
    private final GracePeriod gp = new GracePeriod("test");

    @AfterEach void tearDown() { gp.close(); }

    @Test void synchronizeWaitsForAReaderInsideItsSection() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread reader = Thread.ofPlatform().start(() -> {
            int t = gp.enter(3);
            inside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            gp.exit(t);
        });
        assertThat(inside.await(5, TimeUnit.SECONDS)).isTrue();
        CountDownLatch done = new CountDownLatch(1);
        Thread writer = Thread.ofPlatform().start(() -> {
            gp.synchronize();
            done.countDown();
        });
        assertThat(done.await(200, TimeUnit.MILLISECONDS)).as("writer must wait for the reader").isFalse();
        release.countDown();
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        reader.join();
        writer.join();
    }

    @Test void synchronizeWithoutReadersReturnsAndNestedSectionsCountOnce() {
        gp.synchronize();
        int a = gp.enter(1);
        int b = gp.enter(1);
        gp.exit(b);
        gp.exit(a);
        gp.synchronize();
        assertThat(gp.completed()).isEqualTo(2);
    }

    @Test void deferredReclaimRunsAfterTheReadersOfThatTimeLeft() throws Exception {
        int t = gp.enter(0);
        AtomicBoolean ran = new AtomicBoolean();
        gp.defer(() -> ran.set(true));
        Thread.sleep(100); // give the reclaim thread every chance to run too early
        assertThat(ran).isFalse();
        gp.exit(t);
        assertThat(gp.awaitReclaimed(5, TimeUnit.SECONDS)).isTrue();
        assertThat(ran).isTrue();
    }

    /**
     * Many readers entering and leaving continuously, a writer publishing and retiring a "version" again and
     * again: a reader never sees a version retired while it was inside, and the writer always finishes.
     */
    @Test void noReaderEverSeesARetiredObjectAndWritersDoNotStarve() throws Exception {
        final class Box {
            volatile boolean retired;
        }
        AtomicLong violations = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        Box[] current = {new Box()};
        Thread[] readers = new Thread[3];
        for (int r = 0; r < readers.length; r++) {
            int stripe = r;
            readers[r] = Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    int t = gp.enter(stripe);
                    Box b = current[0];
                    for (int i = 0; i < 50; i++) if (b.retired) violations.incrementAndGet();
                    gp.exit(t);
                }
            });
        }
        for (int i = 0; i < 2000; i++) {
            Box old = current[0];
            current[0] = new Box();
            java.lang.invoke.VarHandle.fullFence();
            gp.synchronize();
            old.retired = true;
        }
        stop.set(true);
        for (Thread t : readers) t.join();
        assertThat(violations.get()).isZero();
        assertThat(gp.completed()).isEqualTo(2000);
    }
}
