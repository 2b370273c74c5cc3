package org.kextnet.kernel.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

/** The event count: a signal after the count was read is never lost; deadlines and interrupts end a wait. */
class EventCountTest {
    private final EventCount ec = new EventCount();

    @Test void aSignalBeforeTheWaitEndsItAtOnce() throws Exception {
        int seen = ec.count();
        ec.signalAll();
        assertThat(ec.awaitChange(seen, Long.MAX_VALUE)).isTrue();
    }

    @Test void aWaiterWakesOnTheSignal() throws Exception {
        int seen = ec.count();
        CountDownLatch woken = new CountDownLatch(1);
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                result.set(ec.awaitChange(seen, Long.MAX_VALUE));
            } catch (InterruptedException e) {
                result.set(e);
            }
            woken.countDown();
        });
        assertThat(woken.await(100, TimeUnit.MILLISECONDS)).as("no signal yet").isFalse();
        ec.signalAll();
        assertThat(woken.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(result.get()).isEqualTo(true);
        t.join();
    }

    @Test void theDeadlineEndsAWaitWithNoSignal() throws Exception {
        int seen = ec.count();
        assertThat(ec.awaitChange(seen, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20))).isFalse();
        assertThat(ec.awaitChange(seen, System.nanoTime() - 1)).as("a deadline already past").isFalse();
    }

    @Test void anInterruptEndsTheWait() throws Exception {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                result.set(ec.awaitChange(ec.count(), Long.MAX_VALUE));
            } catch (InterruptedException e) {
                result.set(e);
            }
        });
        t.interrupt();
        t.join(30_000);
        assertThat(result.get()).isInstanceOf(InterruptedException.class);
        Thread.currentThread().interrupt();
        assertThatThrownBy(() -> ec.awaitChange(ec.count() + 1, Long.MAX_VALUE)).as("interrupted before the wait")
                .isInstanceOf(InterruptedException.class);
    }

    /** A producer hands a consumer 100,000 items one at a time through a single slot: a lost wake-up hangs it. */
    @Test void noWakeUpIsLostBetweenTheTestAndTheWait() throws Exception {
        int items = 100_000;
        long[] slot = {0}; // 0: empty; guarded by its monitor
        Thread producer = Thread.ofPlatform().start(() -> {
            try {
                for (long i = 1; i <= items; i++) {
                    while (true) {
                        int seen = ec.count();
                        synchronized (slot) {
                            if (slot[0] == 0) {
                                slot[0] = i;
                                break;
                            }
                        }
                        ec.awaitChange(seen, Long.MAX_VALUE);
                    }
                    ec.signalAll();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        long expected = 1;
        while (expected <= items) {
            int seen = ec.count();
            long got;
            synchronized (slot) {
                got = slot[0];
                slot[0] = 0;
            }
            if (got == 0) {
                assertThat(ec.awaitChange(seen, deadline)).as("item %d within the wait", expected).isTrue();
                continue;
            }
            assertThat(got).isEqualTo(expected++);
            ec.signalAll();
        }
        producer.join(30_000);
        assertThat(producer.isAlive()).isFalse();
    }
}
