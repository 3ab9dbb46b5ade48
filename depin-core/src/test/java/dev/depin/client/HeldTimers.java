package dev.depin.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * A client scheduler for tests ({@link DepinClient.Builder#schedulers}) that runs the client's
 * stages as usual but holds its timers (deadline watchdogs, attempt timeouts, hedges) until the
 * test {@link #fire fires} them: a deadline then passes at a step of the test, never because a
 * loaded machine was slower than a wall-clock delay. A timer the client cancelled meanwhile
 * (its job ended) does not fire.
 */
final class HeldTimers extends ScheduledThreadPoolExecutor {
    private final List<Held> held = new ArrayList<>();

    private record Held(Runnable command, long delayNanos, ScheduledFuture<?> parked) {
    }

    HeldTimers(int threads, ThreadFactory factory) {
        super(threads, factory);
    }

    /**
     * @param made where the schedulers made are added, the client's first
     * @return for {@link DepinClient.Builder#schedulers}
     */
    static BiFunction<Integer, ThreadFactory, ScheduledThreadPoolExecutor> into(List<HeldTimers> made) {
        return (threads, factory) -> {
            HeldTimers t = new HeldTimers(threads, factory);
            made.add(t);
            return t;
        };
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        if (delay <= 0) {
            return super.schedule(command, delay, unit);
        }
        // Parked a day out: the client's cancel of the future it gets back still works.
        ScheduledFuture<?> parked = super.schedule(command, 1, TimeUnit.DAYS);
        synchronized (held) {
            held.add(new Held(command, unit.toNanos(delay), parked));
        }
        return parked;
    }

    /** @return how many timers are held and not cancelled */
    int pending() {
        synchronized (held) {
            return (int) held.stream().filter(h -> !h.parked().isDone()).count();
        }
    }

    /**
     * Runs every held timer the client has not cancelled, now, on the scheduler's threads.
     *
     * @return how many fired
     */
    int fire() {
        return fire(Duration.ofNanos(Long.MAX_VALUE));
    }

    /**
     * Runs the held timers the client armed for at most {@code within} and has not cancelled,
     * now, on the scheduler's threads; the others stay held.
     *
     * @param within the longest delay that fires
     * @return how many fired
     */
    int fire(Duration within) {
        List<Held> due = new ArrayList<>();
        synchronized (held) {
            for (Iterator<Held> it = held.iterator(); it.hasNext(); ) {
                Held h = it.next();
                if (h.delayNanos() <= within.toNanos()) {
                    due.add(h);
                    it.remove();
                }
            }
        }
        int fired = 0;
        for (Held h : due) {
            if (h.parked().cancel(false)) { // false if the client cancelled it first
                execute(h.command());
                fired++;
            }
        }
        return fired;
    }
}
