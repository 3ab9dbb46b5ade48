package dev.depin.ledger;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToIntFunction;

/**
 * The writer's queue: one FIFO per source (a peer's address, the ledger's own sweeps, the
 * process's own callers), taken in turns. A batch takes one unit (a request, or a group never
 * split) from the first source that has one, puts that source at the back of the turn, takes
 * one from the next, and so on until the batch is full; the turn carries over to the next
 * batch. So a source with a long backlog puts at most one unit ahead of another source's next
 * unit in each batch: a light source's operation joins the next commit while a heavy source's
 * backlog waits its turns, where one FIFO queued it behind the whole backlog. Within a source
 * the order is kept: a source's unit never overtakes an earlier unit of the same source.
 *
 * <p>Sources with nothing queued are forgotten, so what the queue keeps per source is bounded
 * by what is queued.
 */
final class WriterQueue {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition queued = lock.newCondition();
    private final HashMap<Object, Source> sources = new HashMap<>();
    /** The sources with something queued, in the order of their turns. */
    private final ArrayDeque<Source> turns = new ArrayDeque<>();
    private int units;
    /** The source of the process's own callers, the one source whose batches are never gathered. */
    private final Object local;
    /** Whether the last {@link #take} took a unit of another source than {@link #local}; the writer's own. */
    private boolean fromPeers;

    /** @param local the source of the process's own callers */
    WriterQueue(Object local) {
        this.local = local;
    }

    private static final class Source {
        final Object key;
        final ArrayDeque<Object> units = new ArrayDeque<>();

        Source(Object key) {
            this.key = key;
        }
    }

    /** Queues a unit at the end of its source's FIFO. */
    void add(Object source, Object unit) {
        lock.lock();
        try {
            Source s = sources.get(source);
            if (s == null) {
                s = new Source(source);
                sources.put(source, s);
                turns.addLast(s);
            }
            s.units.addLast(unit);
            units++;
            queued.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for a unit, then takes units in turns, each source's oldest first, until their sizes
     * reach {@code max} (the unit that reaches it is taken whole) or nothing is left.
     *
     * @param max  the size a batch may reach
     * @param size the size of a unit
     * @param out  where the units go
     * @throws InterruptedException if interrupted while nothing is queued
     */
    int take(int max, ToIntFunction<Object> size, List<Object> out) throws InterruptedException {
        lock.lock();
        try {
            while (units == 0) {
                queued.await();
            }
            fromPeers = false;
            int n = 0;
            while (n < max && units > 0) {
                n += next(size, out);
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** @return whether the last {@link #take} took a unit of a source other than the process's own callers */
    boolean fromPeers() {
        return fromPeers;
    }

    /** Takes the unit whose turn it is; under the lock, with something queued. */
    private int next(ToIntFunction<Object> size, List<Object> out) {
        Source s = turns.pollFirst();
        Object unit = s.units.pollFirst();
        units--;
        out.add(unit);
        if (s.units.isEmpty()) {
            sources.remove(s.key);
        } else {
            turns.addLast(s);
        }
        if (s.key != local) {
            fromPeers = true;
        }
        return size.applyAsInt(unit);
    }

    /**
     * Waits for more units while they keep coming, taking them in turns as they come, until the
     * batch's size {@code n} reaches {@code max}, {@code deadline} (a {@link System#nanoTime()})
     * passes, or none came for {@code gap} nanoseconds: a lone operation waits {@code gap} at
     * most, a stream of them up to the deadline.
     *
     * @return the batch's size now
     */
    int gather(int n, int max, long deadline, long gap, ToIntFunction<Object> size, List<Object> out) {
        lock.lock();
        try {
            long quiet = Math.min(deadline, System.nanoTime() + gap);
            while (n < max) {
                if (units == 0) {
                    long left = quiet - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    try {
                        queued.awaitNanos(left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                    continue;
                }
                n += next(size, out);
                quiet = Math.min(deadline, System.nanoTime() + gap);
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Takes everything queued, in turns; for failing what is left when the writer stopped. */
    void drain(List<Object> out) {
        lock.lock();
        try {
            while (!turns.isEmpty()) {
                Source s = turns.pollFirst();
                out.addAll(s.units);
                sources.remove(s.key);
            }
            units = 0;
        } finally {
            lock.unlock();
        }
    }

    /** @return how many units are queued */
    int size() {
        lock.lock();
        try {
            return units;
        } finally {
            lock.unlock();
        }
    }
}
