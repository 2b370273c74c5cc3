package org.kextnet.kernel.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;

class TimerWheelTest {
    private static final long MS = 1_000_000;
    private final ManualClock clock = new ManualClock(5 * MS + 123);
    private final TimerWheel wheel = new TimerWheel(clock, MS, 64);
    private final List<String> fired = new ArrayList<>();

    private Timeout named(String name) {
        return new Timeout((t, now) -> fired.add(name + "@" + (now - 5 * MS - 123) / MS));
    }

    @Test void aTimeoutNeverExpiresBeforeItsDeadlineAndExpiresOnTheTickThatReachesIt() {
        Timeout t = named("a");
        wheel.scheduleAfter(t, 3 * MS + 1);
        clock.advance(3 * MS);
        wheel.advance();
        assertThat(fired).isEmpty();
        assertThat(t.isScheduled()).isTrue();
        clock.advance(MS);
        wheel.advance();
        assertThat(fired).containsExactly("a@4");
        assertThat(t.isScheduled()).isFalse();
        assertThat(wheel.size()).isZero();
    }

    @Test void timeoutsExpireInTheOrderOfTheirTicks() {
        wheel.scheduleAfter(named("c"), 30 * MS);
        wheel.scheduleAfter(named("a"), 10 * MS);
        wheel.scheduleAfter(named("b"), 20 * MS);
        clock.advance(40 * MS);
        assertThat(wheel.advance()).isEqualTo(3);
        assertThat(fired).containsExactly("a@40", "b@40", "c@40");
    }

    @Test void deadlinesBeyondOneTurnWaitForTheirTurn() {
        Timeout far = named("far");
        wheel.scheduleAfter(far, 64 * MS * 3 + 5 * MS); // three turns and a bit: same slot as 5 ms
        Timeout near = named("near");
        wheel.scheduleAfter(near, 5 * MS);
        for (int i = 0; i < 64 * 3; i++) {
            clock.advance(MS);
            wheel.advance();
        }
        assertThat(fired).containsExactly("near@5");
        for (int i = 0; i < 5; i++) {
            clock.advance(MS);
            wheel.advance();
        }
        assertThat(fired).containsExactly("near@5", "far@197");
    }

    @Test void cancelAndRescheduleAreConstantTimeAndExact() {
        Timeout a = named("a");
        wheel.scheduleAfter(a, 5 * MS);
        assertThat(wheel.cancel(a)).isTrue();
        assertThat(wheel.cancel(a)).isFalse();
        wheel.scheduleAfter(a, 7 * MS);
        wheel.scheduleAfter(a, 2 * MS); // moved, not doubled
        assertThat(wheel.size()).isEqualTo(1);
        clock.advance(10 * MS);
        wheel.advance();
        assertThat(fired).containsExactly("a@10");
    }

    @Test void aTaskMayRescheduleItselfAndATimeoutDueNowRunsInTheSameAdvance() {
        AtomicInteger runs = new AtomicInteger();
        Timeout[] self = new Timeout[1];
        self[0] = new Timeout((t, now) -> {
            if (runs.incrementAndGet() < 3) wheel.schedule(t, now); // due at once: same advance
        });
        wheel.scheduleAfter(self[0], MS);
        clock.advance(MS);
        wheel.advance();
        assertThat(runs).hasValue(3);
    }

    @Test void aLongJumpSkipsEmptyTurnsAndStillRunsEverythingInOrder() {
        wheel.scheduleAfter(named("hour"), 3_600_000 * MS);
        wheel.scheduleAfter(named("minute"), 60_000 * MS);
        assertThat(wheel.nextDeadline()).isEqualTo(clock.nanoTime() + 60_000 * MS);
        clock.advance(7_200_000 * MS);
        wheel.advance();
        assertThat(fired).containsExactly("minute@7200000", "hour@7200000");
        assertThat(wheel.nextDeadline()).isEqualTo(Long.MAX_VALUE);
    }

    @Test void aTimeoutScheduledAfterAJumpIsNotLate() {
        wheel.scheduleAfter(named("x"), 1000 * MS);
        clock.advance(500 * MS);
        wheel.advance();
        Timeout y = named("y");
        wheel.scheduleAfter(y, 2 * MS);
        clock.advance(2 * MS);
        wheel.advance();
        assertThat(fired).containsExactly("y@502");
    }

    @Test void aTimeoutBelongsToOneWheel() {
        Timeout t = named("t");
        wheel.scheduleAfter(t, MS);
        TimerWheel other = new TimerWheel(clock, MS, 64);
        assertThatThrownBy(() -> other.scheduleAfter(t, MS)).isInstanceOf(IllegalStateException.class);
        assertThat(other.cancel(t)).isFalse();
    }

    @Test void randomScheduleAndCancelAgreeWithAModel() {
        Random r = new Random(42);
        int n = 2000;
        long[] due = new long[n];
        Timeout[] ts = new Timeout[n];
        long[] firedAt = new long[n];
        for (int i = 0; i < n; i++) {
            int id = i;
            ts[i] = new Timeout((t, now) -> firedAt[id] = now);
            due[i] = -1;
        }
        for (int step = 0; step < 20_000; step++) {
            int i = r.nextInt(n);
            switch (r.nextInt(4)) {
                case 0, 1 -> {
                    long d = clock.nanoTime() + r.nextInt(300) * MS + r.nextInt((int) MS);
                    wheel.schedule(ts[i], d);
                    due[i] = d;
                    firedAt[i] = 0;
                }
                case 2 -> {
                    assertThat(wheel.cancel(ts[i])).isEqualTo(due[i] >= 0);
                    due[i] = -1;
                }
                default -> {
                    clock.advance(r.nextInt(5) * MS + r.nextInt((int) MS));
                    long now = clock.nanoTime();
                    wheel.advance();
                    for (int k = 0; k < n; k++) {
                        if (due[k] >= 0 && due[k] <= now - MS) {
                            assertThat(firedAt[k]).as("timeout %d due %d, now %d", k, due[k], now).isEqualTo(now);
                            due[k] = -1;
                        } else if (due[k] > now) {
                            assertThat(firedAt[k]).as("timeout %d fired early", k).isZero();
                        } else if (firedAt[k] != 0) {
                            due[k] = -1; // due within the last tick: may or may not have fired yet
                        }
                    }
                }
            }
        }
    }

    @Test void schedulingFromManyThreadsWhileAnotherAdvancesLosesNothing() throws Exception {
        TimerWheel w = new TimerWheel(Clock.SYSTEM, MS, 256);
        int threads = 4, each = 5_000;
        CountDownLatch all = new CountDownLatch(threads * each);
        Thread driver = Thread.ofPlatform().start(() -> {
            while (all.getCount() > 0) w.advance();
        });
        List<Thread> ts = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < each; i++) {
                    Timeout t = new Timeout((x, now) -> all.countDown());
                    w.scheduleAfter(t, i % 3 * MS);
                    if (i % 7 == 0 && w.cancel(t)) w.scheduleAfter(t, 0);
                }
            }));
        }
        for (Thread t : ts) t.join();
        assertThat(all.await(30, TimeUnit.SECONDS)).isTrue();
        driver.join(10_000);
        assertThat(w.size()).isZero();
    }

    @Test void nextExpiryIsTheTickBoundaryThatRunsTheEarliestTimeout() {
        Timeout t = named("t");
        wheel.scheduleAfter(t, 2 * MS + 1); // between ticks: expires on the third tick from the wheel's origin
        long expiry = wheel.nextExpiry();
        assertThat(expiry).isGreaterThanOrEqualTo(t.deadline());
        clock.set(expiry - 1);
        wheel.advance();
        assertThat(fired).isEmpty();
        clock.set(expiry);
        wheel.advance();
        assertThat(fired).hasSize(1);
        assertThat(wheel.nextExpiry()).isEqualTo(Long.MAX_VALUE);
    }

    @Test void theDriverIsWokenOnlyForATimeoutDueBeforeItPlansToWake() {
        AtomicInteger wakes = new AtomicInteger();
        wheel.onSchedule(wakes::incrementAndGet);
        wheel.scheduleAfter(named("a"), 50 * MS);
        assertThat(wakes).as("no driver has said when it wakes: every schedule wakes it").hasValue(1);
        long now = clock.nanoTime();
        assertThat(wheel.sleepUntil(now + 1000 * MS)).isEqualTo(now + 50 * MS);
        wheel.scheduleAfter(named("later"), 60 * MS);
        wheel.scheduleAfter(named("same"), 50 * MS);
        assertThat(wakes).as("due when the driver wakes anyway").hasValue(1);
        wheel.scheduleAfter(named("sooner"), 10 * MS);
        assertThat(wakes).hasValue(2);
        wheel.scheduleAfter(named("as soon"), 10 * MS);
        assertThat(wakes).as("the driver is already woken for that time").hasValue(2);
        assertThat(wheel.sleepUntil(now + 5 * MS)).as("at most the driver's own limit").isEqualTo(now + 5 * MS);
        wheel.scheduleAfter(named("soonest"), 4 * MS);
        assertThat(wakes).hasValue(3);
        clock.advance(60 * MS);
        wheel.advance();
        assertThat(fired).containsExactlyInAnyOrder("soonest@60", "sooner@60", "as soon@60", "a@60", "same@60", "later@60");
        assertThat(wheel.sleepUntil(clock.nanoTime() + 1000 * MS)).isEqualTo(clock.nanoTime() + 1000 * MS);
        wheel.scheduleAfter(named("x"), 500 * MS);
        assertThat(wakes).as("sooner than the second the idle driver sleeps").hasValue(4);
    }

    @Test void aDriverThatSleepsUntilItsNextDeadlineMissesNoTimeoutScheduledMeanwhile() throws Exception {
        TimerWheel w = new TimerWheel(Clock.SYSTEM, MS, 256);
        int threads = 3, each = 2_000;
        CountDownLatch all = new CountDownLatch(threads * each);
        Thread driver = Thread.ofPlatform().unstarted(() -> {
            while (all.getCount() > 0) {
                w.advance();
                long now = System.nanoTime();
                // an hour when idle: a wake-up lost would leave a timeout waiting past the test's bound
                long next = w.sleepUntil(now + 3_600_000 * MS);
                LockSupport.parkNanos(Math.max(next - now, MS));
            }
        });
        w.onSchedule(() -> LockSupport.unpark(driver));
        driver.start();
        List<Thread> ts = new ArrayList<>();
        for (int k = 0; k < threads; k++) {
            int seed = k;
            ts.add(Thread.ofPlatform().start(() -> {
                Random r = new Random(seed);
                for (int i = 0; i < each; i++) {
                    w.scheduleAfter(new Timeout((x, now) -> all.countDown()), r.nextInt(3) * MS + r.nextInt((int) MS));
                    if (i % 50 == 0) LockSupport.parkNanos(r.nextInt(2) * MS); // let the driver sleep
                }
            }));
        }
        for (Thread t : ts) t.join();
        assertThat(all.await(30, TimeUnit.SECONDS)).as("%d timeouts left", all.getCount()).isTrue();
        driver.join(10_000);
        assertThat(w.size()).isZero();
    }
}
