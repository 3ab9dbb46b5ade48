package dev.depin.client.internal;

import dev.depin.job.JobEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job's events: recorded in order, and delivered to listeners on the user's executor,
 * one delivery at a time and in order (a serial queue over that executor), never on the
 * thread that recorded them and never under the engine's lock.
 */
public final class EventBus {
    private static final Logger LOG = LoggerFactory.getLogger(EventBus.class);
    private final List<JobEvent> events = new CopyOnWriteArrayList<>();
    private final List<Consumer<JobEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Queue<Runnable> pending = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final Executor executor;

    /** @param executor where listeners run */
    public EventBus(Executor executor) {
        this.executor = executor;
    }

    /**
     * Records an event and queues its delivery. The caller holds the job's lock, which
     * keeps events in order; it calls {@link #flush()} after releasing the lock.
     *
     * @param e the event
     */
    public void record(JobEvent e) {
        events.add(e);
        if (!listeners.isEmpty()) {
            List<Consumer<JobEvent>> now = List.copyOf(listeners);
            pending.add(() -> deliver(now, e));
        }
    }

    /** Hands queued deliveries to the listener executor. Call without holding the job's lock. */
    public void flush() {
        if (!pending.isEmpty()) {
            drain();
        }
    }

    /**
     * Adds a listener, which first receives every event so far. The caller holds the job's
     * lock, so no event is recorded between the snapshot and the registration, and calls
     * {@link #flush()} after releasing it.
     *
     * @param listener the listener
     */
    public void add(Consumer<JobEvent> listener) {
        List<JobEvent> past = new ArrayList<>(events);
        listeners.add(listener);
        pending.add(() -> past.forEach(e -> deliver(List.of(listener), e)));
    }

    /** @return every event so far */
    public List<JobEvent> events() {
        return List.copyOf(events);
    }

    private static void deliver(List<Consumer<JobEvent>> to, JobEvent e) {
        for (Consumer<JobEvent> l : to) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                LOG.warn("job event listener threw {}; ignoring it", ex.toString());
            }
        }
    }

    private void drain() {
        if (!draining.compareAndSet(false, true)) {
            return;
        }
        try {
            executor.execute(this::run);
        } catch (RejectedExecutionException ex) {
            // The listener executor is shut down (client closing): deliver here rather than lose events.
            run();
        }
    }

    private void run() {
        try {
            Runnable r;
            while ((r = pending.poll()) != null) {
                r.run();
            }
        } finally {
            draining.set(false);
            if (!pending.isEmpty()) {
                drain();
            }
        }
    }
}
