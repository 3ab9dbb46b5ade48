package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelismTest {

    private static void assertEachIndexOnce(Parallelism p, int n, int grain) {
        AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
        p.forRange(n, grain, (from, to) -> {
            assertTrue(0 <= from && from < to && to <= n, "range [" + from + ", " + to + ") of " + n);
            for (int i = from; i < to; i++) {
                hits.incrementAndGet(i);
            }
        });
        for (int i = 0; i < n; i++) {
            assertEquals(1, hits.get(i), "index " + i + " of " + n + " (grain " + grain + ", " + p + ")");
        }
    }

    @Test
    void forRange_awkwardSizes_coversEachIndexOnce() {
        for (int threads : new int[] {1, 2, 3, 7}) {
            try (Parallelism p = Parallelism.newPool(threads)) {
                for (int n : new int[] {0, 1, 2, 3, 7, 256, 1000, 4099}) {
                    for (int grain : new int[] {1, 3, 64, 5000}) {
                        assertEachIndexOnce(p, n, grain);
                    }
                }
            }
        }
        assertEachIndexOnce(Parallelism.callerThread(), 1000, 1);
    }

    @Test
    void forRange_bodyThrows_firstExceptionRethrownInCaller() {
        try (Parallelism p = Parallelism.newPool(3)) {
            IllegalStateException boom = new IllegalStateException("boom");
            IllegalStateException got = assertThrows(IllegalStateException.class,
                    () -> p.forRange(1000, 1, (from, to) -> {
                        if (from <= 500 && 500 < to) {
                            throw boom;
                        }
                    }));
            assertSame(boom, got);
            assertEachIndexOnce(p, 1000, 1);   // the pool still works afterwards
        }
    }

    @Test
    void forRange_saturatedExecutor_callerDoesTheWork() throws Exception {
        ExecutorService one = Executors.newSingleThreadExecutor();
        CountDownLatch release = new CountDownLatch(1);
        try {
            one.execute(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            // The only helper thread is blocked: the loop must still complete in the caller.
            assertEachIndexOnce(Parallelism.using(one, 4), 1000, 1);
        } finally {
            release.countDown();
            one.shutdownNow();
        }
    }

    @Test
    void forRange_rejectingExecutor_callerDoesTheWork() {
        Executor rejecting = r -> {
            throw new RejectedExecutionException("full");
        };
        assertEachIndexOnce(Parallelism.using(rejecting, 8), 1000, 1);
    }

    @Test
    void close_ownPool_stopsThreadsAndFallsBackToCaller() {
        Parallelism p = Parallelism.newPool(3);
        assertEquals(3, p.threads());
        p.close();
        p.close();
        assertEquals(1, p.threads());
        assertEachIndexOnce(p, 100, 1);
        Parallelism.callerThread().close();
        assertEquals(1, Parallelism.callerThread().threads());
    }

    @Test
    void factories_badArguments_rejected() {
        assertThrows(InvalidArgumentException.class, () -> Parallelism.newPool(0));
        assertThrows(InvalidArgumentException.class, () -> Parallelism.newPool(1025));
        assertThrows(InvalidArgumentException.class, () -> Parallelism.using(null, 2));
        assertThrows(InvalidArgumentException.class, () -> Parallelism.using(Runnable::run, 0));
        assertThrows(InvalidArgumentException.class, () -> Parallelism.callerThread().forRange(1, 1, null));
    }
}
