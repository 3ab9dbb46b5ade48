package dev.depin.kernel;

import static dev.depin.kernel.CpuReferenceScratchTest.inBytes;
import static dev.depin.kernel.CpuReferenceScratchTest.randomFloats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.executor.spi.HostArena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * {@link CpuReference#sgemm(int, int, int, java.nio.FloatBuffer, java.nio.FloatBuffer, ByteBuffer,
 * KernelReference.Scratch, CpuReference.RowBlocks)}: every row of C is told exactly once, and when
 * it is told it already holds its final bits (what a tree hashed from the told rows commits to).
 */
class CpuReferenceRowBlocksTest {
    private static final long SEED = 0x0C_B10C_2026L;
    /** Row splits (m large), column splits (few rows, wide), one thread's path (small), and edges. */
    private static final int[][] SHAPES = {{7, 1, 5}, {301, 17, 333}, {1000, 40, 1000}, {40, 300, 1024},
        {145, 300, 129}, {100, 64, 1024}};

    @Test
    void rowsDone_everyRowOnce_finalWhenTold() {
        System.out.println("rowsDone_everyRowOnce_finalWhenTold seed=0x" + Long.toHexString(SEED));
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int[] s : SHAPES) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] a = randomFloats(rnd, m * k);
            float[] b = randomFloats(rnd, k * n);
            for (int threads = 1; threads <= 3; threads++) {
                try (CpuReference cpu = new CpuReference(threads)) {
                    float[] want = new float[m * n];
                    cpu.sgemm(m, k, n, a, b, want);
                    ByteBuffer out = ByteBuffer.allocate(m * n * Float.BYTES);
                    ByteBuffer le = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                    AtomicIntegerArray told = new AtomicIntegerArray(m);
                    List<String> early = Collections.synchronizedList(new ArrayList<>());
                    String what = "threads=" + threads + " " + m + "x" + k + "x" + n;
                    cpu.sgemm(m, k, n, inBytes(a), inBytes(b), out, new HostArena(), new CpuReference.RowBlocks() {
                        @Override
                        public void rowsDone(int i0, int i1) {
                            for (int i = i0; i < i1; i++) {
                                told.incrementAndGet(i);
                                for (int j = 0; j < n; j++) {
                                    int e = i * n + j;
                                    if (le.getInt(e * Float.BYTES) != Float.floatToRawIntBits(want[e])) {
                                        early.add("row " + i + " col " + j);
                                        break;
                                    }
                                }
                            }
                        }
                    });
                    assertTrue(early.isEmpty(), what + ": rows told before they were final: " + early);
                    for (int i = 0; i < m; i++) {
                        assertEquals(1, told.get(i), what + ": row " + i + " told");
                    }
                }
            }
        }
    }

    @Test
    void idle_lentOnlyWhileComputing_returnsBeforeTheCall() {
        // 2 threads, a product split in rows: a thread out of blocks is lent while the other computes.
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int m = 600;
        int k = 200;
        int n = 300;
        float[] a = randomFloats(rnd, m * k);
        float[] b = randomFloats(rnd, k * n);
        try (CpuReference cpu = new CpuReference(2)) {
            AtomicInteger inIdle = new AtomicInteger();
            List<String> bad = Collections.synchronizedList(new ArrayList<>());
            for (int round = 0; round < 20; round++) {
                cpu.sgemm(m, k, n, inBytes(a), inBytes(b), ByteBuffer.allocate(m * n * Float.BYTES), new HostArena(),
                        new CpuReference.RowBlocks() {
                            @Override
                            public void rowsDone(int i0, int i1) {
                            }

                            @Override
                            public void idle(BooleanSupplier computing) {
                                inIdle.incrementAndGet();
                                try {
                                    while (computing.getAsBoolean()) {
                                        Thread.onSpinWait();
                                    }
                                } finally {
                                    inIdle.decrementAndGet();
                                }
                            }
                        });
                if (inIdle.get() != 0) {
                    bad.add("round " + round + ": the call returned with a thread still lent");
                }
            }
            assertTrue(bad.isEmpty(), bad.toString());
        }
    }
}
