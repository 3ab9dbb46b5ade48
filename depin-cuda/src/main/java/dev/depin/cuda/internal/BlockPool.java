package dev.depin.cuda.internal;

import dev.depin.cuda.DeviceException;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * A cache of freed blocks by size class, in front of an expensive allocator
 * ({@code cuMemAlloc}, which also synchronises the device on free, or {@code cuMemAllocHost}).
 * Sizes are rounded up to a power of two below 2 MiB and to a multiple of 2 MiB above, so a
 * block is reused by any job of similar size. At most {@code capacity} bytes stay cached; an
 * allocation that fails for lack of memory empties the cache and tries once more.
 *
 * <p>Blocks return to the pool only after their job overwrote every byte it used, so a
 * reused block never holds another job's data (the part beyond a job's size was overwritten
 * by the earlier job that used it). Thread-safe.
 *
 * @param <T> the block handle
 */
public final class BlockPool<T> {
    private static final long BIG = 2L << 20;

    private final LongFunction<T> allocate;
    private final Consumer<T> free;
    private final long capacity;
    private final TreeMap<Long, ArrayDeque<T>> cached = new TreeMap<>();
    private long cachedBytes;

    /**
     * Creates a pool.
     *
     * @param allocate allocates a block of the given size, throwing {@link DeviceException} on failure
     * @param free     frees a block; must not throw
     * @param capacity most bytes kept cached, &ge; 0 (0 disables caching)
     */
    public BlockPool(LongFunction<T> allocate, Consumer<T> free, long capacity) {
        this.allocate = allocate;
        this.free = free;
        this.capacity = Math.max(0, capacity);
    }

    /**
     * The size class of a request.
     *
     * @param bytes requested size, &gt; 0
     * @return the block size the pool allocates for it
     */
    public static long sizeClass(long bytes) {
        if (bytes <= 512) {
            return 512;
        }
        if (bytes >= BIG) {
            return (bytes + BIG - 1) / BIG * BIG;
        }
        return Long.highestOneBit(bytes - 1) << 1;
    }

    /**
     * A block of at least {@code bytes}: a cached one of the same class, or a new one.
     *
     * @param bytes requested size, &gt; 0
     * @return the block, of {@link #sizeClass}({@code bytes}) bytes
     * @throws DeviceException if the allocator fails even with the cache emptied
     */
    public T take(long bytes) {
        long size = sizeClass(bytes);
        synchronized (this) {
            ArrayDeque<T> q = cached.get(size);
            if (q != null && !q.isEmpty()) {
                cachedBytes -= size;
                return q.pop();
            }
        }
        try {
            return allocate.apply(size);
        } catch (DeviceException e) {
            if (!e.error().contains("OUT_OF_MEMORY") || drain() == 0) {
                throw e;
            }
            return allocate.apply(size);
        }
    }

    /**
     * Returns a block whose job overwrote it; frees it when the cache is full.
     *
     * @param block a block from {@link #take}
     * @param bytes the size it was taken for
     */
    public void give(T block, long bytes) {
        long size = sizeClass(bytes);
        synchronized (this) {
            if (cachedBytes + size <= capacity) {
                cached.computeIfAbsent(size, s -> new ArrayDeque<>()).push(block);
                cachedBytes += size;
                return;
            }
        }
        free.accept(block);
    }

    /**
     * Frees a block that must not be reused (its overwrite failed).
     *
     * @param block the block
     */
    public void discard(T block) {
        free.accept(block);
    }

    /** @return bytes held in the cache */
    public synchronized long cachedBytes() {
        return cachedBytes;
    }

    /**
     * Frees every cached block.
     *
     * @return bytes freed
     */
    public long drain() {
        Map<Long, ArrayDeque<T>> all;
        long bytes;
        synchronized (this) {
            all = new TreeMap<>(cached);
            cached.clear();
            bytes = cachedBytes;
            cachedBytes = 0;
        }
        all.values().forEach(q -> q.forEach(free));
        return bytes;
    }
}
