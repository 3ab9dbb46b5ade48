package dev.depin.node;

import java.util.AbstractQueue;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * A bounded blocking queue that serves its tenants in turn (round robin over the tenants
 * that have something waiting), first in first out within a tenant. A worker pool fed by it
 * gives every buyer with waiting jobs the next free worker in turn, so one buyer's backlog
 * of a thousand jobs delays another buyer's job by at most one job per busy buyer, not by
 * a thousand. The bound is on all elements together, as an {@code ArrayBlockingQueue}'s.
 *
 * <p>Made for {@link java.util.concurrent.ThreadPoolExecutor}: it implements what the pool
 * uses (offer, poll, take, remove, drainTo, size, iteration for {@code getQueue()}).
 *
 * @param <E> the element type
 */
final class FairQueue<E> extends AbstractQueue<E> implements BlockingQueue<E> {
    private final int capacity;
    private final Function<? super E, ?> tenantOf;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notEmpty = lock.newCondition();
    private final Map<Object, ArrayDeque<E>> byTenant = new HashMap<>();
    /** Tenants with something waiting, in the order they are served. */
    private final ArrayDeque<Object> turn = new ArrayDeque<>();
    private int size;

    /**
     * @param capacity the most elements waiting at once, over all tenants
     * @param tenantOf the tenant of an element (non-null)
     */
    FairQueue(int capacity, Function<? super E, ?> tenantOf) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
        this.tenantOf = tenantOf;
    }

    @Override
    public boolean offer(E e) {
        Objects.requireNonNull(e);
        Object tenant = Objects.requireNonNull(tenantOf.apply(e), "tenant");
        lock.lock();
        try {
            if (size >= capacity) {
                return false;
            }
            ArrayDeque<E> q = byTenant.get(tenant);
            if (q == null) {
                q = new ArrayDeque<>();
                byTenant.put(tenant, q);
                turn.addLast(tenant);
            }
            q.addLast(e);
            size++;
            notEmpty.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Takes the next element in turn; the caller holds the lock and size > 0. */
    private E next() {
        Object tenant = turn.pollFirst();
        ArrayDeque<E> q = byTenant.get(tenant);
        E e = q.pollFirst();
        if (q.isEmpty()) {
            byTenant.remove(tenant);
        } else {
            turn.addLast(tenant);
        }
        size--;
        return e;
    }

    @Override
    public E poll() {
        lock.lock();
        try {
            return size == 0 ? null : next();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public E poll(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lockInterruptibly();
        try {
            while (size == 0) {
                if (nanos <= 0) {
                    return null;
                }
                nanos = notEmpty.awaitNanos(nanos);
            }
            return next();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public E take() throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (size == 0) {
                notEmpty.await();
            }
            return next();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void put(E e) throws InterruptedException {
        throw new UnsupportedOperationException("a bounded fair queue is offered to, never put into");
    }

    @Override
    public boolean offer(E e, long timeout, TimeUnit unit) {
        return offer(e);
    }

    @Override
    public E peek() {
        lock.lock();
        try {
            return size == 0 ? null : byTenant.get(turn.peekFirst()).peekFirst();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean remove(Object o) {
        lock.lock();
        try {
            for (Iterator<Object> it = turn.iterator(); it.hasNext(); ) {
                Object tenant = it.next();
                ArrayDeque<E> q = byTenant.get(tenant);
                if (q.removeFirstOccurrence(o)) {
                    size--;
                    if (q.isEmpty()) {
                        byTenant.remove(tenant);
                        it.remove();
                    }
                    return true;
                }
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int size() {
        lock.lock();
        try {
            return size;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int remainingCapacity() {
        lock.lock();
        try {
            return capacity - size;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int drainTo(Collection<? super E> c) {
        return drainTo(c, Integer.MAX_VALUE);
    }

    @Override
    public int drainTo(Collection<? super E> c, int maxElements) {
        lock.lock();
        try {
            int n = 0;
            while (size > 0 && n < maxElements) {
                c.add(next());
                n++;
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot, in the order the elements would be served. */
    @Override
    public Iterator<E> iterator() {
        lock.lock();
        try {
            List<E> all = new ArrayList<>(size);
            List<ArrayDeque<E>> queues = new ArrayList<>();
            for (Object tenant : turn) {
                queues.add(new ArrayDeque<>(byTenant.get(tenant)));
            }
            boolean any = true;
            while (any) {
                any = false;
                for (ArrayDeque<E> q : queues) {
                    E e = q.pollFirst();
                    if (e != null) {
                        all.add(e);
                        any = true;
                    }
                }
            }
            Iterator<E> it = all.iterator();
            return new Iterator<>() {
                private E last;

                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public E next() {
                    last = it.next();
                    return last;
                }

                @Override
                public void remove() {
                    FairQueue.this.remove(last);
                }
            };
        } finally {
            lock.unlock();
        }
    }
}
