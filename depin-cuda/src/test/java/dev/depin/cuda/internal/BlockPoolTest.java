package dev.depin.cuda.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.cuda.DeviceException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The block pool reuses freed blocks by size class, stays under its capacity and survives out-of-memory. */
class BlockPoolTest {
    private static final class Block {
        final long size;

        Block(long size) {
            this.size = size;
        }
    }

    @Test
    void sizeClass_roundsUp() {
        assertEquals(512, BlockPool.sizeClass(1));
        assertEquals(512, BlockPool.sizeClass(512));
        assertEquals(1024, BlockPool.sizeClass(513));
        assertEquals(1L << 20, BlockPool.sizeClass((1 << 20) - 5));
        assertEquals(2L << 20, BlockPool.sizeClass((1 << 20) + 1));
        assertEquals(4L << 20, BlockPool.sizeClass((2 << 20) + 1));
        assertEquals(6L << 20, BlockPool.sizeClass((4 << 20) + 1));
    }

    @Test
    void take_reusesGivenBlocksUpToCapacity() {
        List<Block> freed = new ArrayList<>();
        AtomicInteger allocated = new AtomicInteger();
        BlockPool<Block> pool = new BlockPool<>(s -> {
            allocated.incrementAndGet();
            return new Block(s);
        }, freed::add, 3000);
        Block a = pool.take(1000);
        assertEquals(1024, a.size);
        pool.give(a, 1000);
        assertSame(a, pool.take(900), "same class, reused");
        assertEquals(1, allocated.get());
        Block b = pool.take(2000);
        Block c = pool.take(1000);
        pool.give(b, 2000);
        pool.give(c, 1000);
        assertEquals(List.of(c), freed, "over capacity: freed instead of cached");
        assertEquals(2048, pool.cachedBytes());
        pool.discard(a);
        assertEquals(2, freed.size());
        assertEquals(2048, pool.drain());
        assertEquals(3, freed.size());
        assertEquals(0, pool.cachedBytes());
    }

    @Test
    void take_drainsTheCacheOnOutOfMemoryAndRetriesOnce() {
        List<Block> freed = new ArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        BlockPool<Block> pool = new BlockPool<>(s -> {
            if (calls.incrementAndGet() == 2) {
                throw new DeviceException("cuMemAlloc(" + s + " bytes)", "CUDA_ERROR_OUT_OF_MEMORY", "", null);
            }
            return new Block(s);
        }, freed::add, 1 << 20);
        pool.give(pool.take(100), 100);
        Block big = pool.take(100_000);
        assertEquals(131072, big.size);
        assertEquals(1, freed.size(), "the cached block was freed to make room");
        BlockPool<Block> failing = new BlockPool<>(s -> {
            throw new DeviceException("cuMemAlloc", "CUDA_ERROR_INVALID_VALUE", "", null);
        }, freed::add, 0);
        assertThrows(DeviceException.class, () -> failing.take(1));
    }
}
