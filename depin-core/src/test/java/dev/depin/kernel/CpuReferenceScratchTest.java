package dev.depin.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.HostArena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The executor's SGEMM ({@link CpuReference#sgemm(int, int, int, FloatBuffer, FloatBuffer, float[],
 * KernelReference.Scratch)}): its packed blocks and tiles are the job's scratch, recorded and wiped
 * by the job's arena, never the instance's shared pool nor another job's.
 */
class CpuReferenceScratchTest {
    private static final long SEED = 0x5C4A_7C11_2026L;
    private static final int PATTERN = 0x3c3c3c3c;
    /** Awkward shapes: edges in every block of both implementations, row and column splits, one thread's. */
    private static final int[][] SHAPES = {{7, 1, 5}, {13, 251, 263}, {1, 300, 257}, {130, 600, 33},
        {101, 521, 1061}, {300, 257, 70}};

    /** A job's scratch: its arena, and every array the arena handed out, to inspect after the wipe. */
    private static final class Tracked implements KernelReference.Scratch {
        final HostArena arena = new HostArena();
        final List<Object> arrays = Collections.synchronizedList(new ArrayList<>());

        @Override
        public float[] floats(String label, int count) {
            float[] f = arena.floats(label, count);
            arrays.add(f);
            return f;
        }

        @Override
        public float[][] rows(String label, int count, int width) {
            float[][] r = arena.rows(label, count, width);
            arrays.add(r);
            return r;
        }
    }

    @Test
    void trackedSgemm_sameBits_everyKernelArrayRecordedAndWiped() {
        long seed = SEED;
        System.out.println("trackedSgemm seed=" + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int[] s : SHAPES) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] a = randomFloats(rnd, m * k);
            float[] b = randomFloats(rnd, k * n);
            for (int threads = 1; threads <= 3; threads++) {
                for (CpuReference cpu : new CpuReference[] {new CpuReference(threads),
                    CpuReference.withoutVectorApi(threads)}) {
                    try (cpu) {
                        String what = cpu.sgemmImplementation() + " threads=" + threads + " " + m + "x" + k + "x" + n;
                        float[] want = new float[m * n];
                        cpu.sgemm(m, k, n, a, b, want);
                        int shared = cpu.sharedWorkspaces();
                        Tracked job = new Tracked();
                        float[] c = job.floats("scratch:c", m * n);
                        cpu.sgemm(m, k, n, inBytes(a), inBytes(b), c, job);
                        assertBits(what, want, c);
                        // The shared pool was neither used nor grown by the job's call.
                        assertEquals(shared, cpu.sharedWorkspaces(), what);
                        List<ExecutionContext.Allocation> allocs = job.arena.allocations();
                        assertEquals(job.arrays.size(), allocs.size(), what);
                        Set<String> workspaces = new java.util.TreeSet<>();
                        for (ExecutionContext.Allocation al : allocs.subList(1, allocs.size())) {
                            assertTrue(al.label().startsWith("scratch:sgemm-w"), what + ": " + al.label());
                            workspaces.add(al.label().substring(0, al.label().indexOf('-', "scratch:sgemm-w".length())));
                        }
                        assertFalse(workspaces.isEmpty(), what + ": the kernel's arrays are recorded");
                        assertTrue(workspaces.size() <= threads, what + ": " + workspaces);
                        assertTrue(holdsData(job.arrays.subList(1, job.arrays.size())),
                                what + ": the kernel's arrays held the job's blocks before the wipe");
                        List<WipeRecord> records = job.arena.wipe((byte) 0x3c);
                        assertEquals(allocs.size(), records.size(), what);
                        for (int i = 0; i < records.size(); i++) {
                            assertEquals(allocs.get(i).label(), records.get(i).label());
                            assertEquals(allocs.get(i).bytes(), records.get(i).bytes());
                            assertEquals(records.get(i).bytes(), records.get(i).bytesOverwritten());
                        }
                        for (Object o : job.arrays) {
                            assertPattern(what, o);
                        }
                        job.arena.close();
                    }
                }
            }
        }
    }

    @Test
    void trackedSgemm_recordsAreTheSameFromRunToRun() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        System.out.println("trackedSgemm_recordsAreTheSameFromRunToRun seed=" + (SEED + 1));
        int m = 211;
        int k = 97;
        int n = 389;
        float[] a = randomFloats(rnd, m * k);
        float[] b = randomFloats(rnd, k * n);
        for (CpuReference cpu : new CpuReference[] {new CpuReference(3), CpuReference.withoutVectorApi(3)}) {
            try (cpu) {
                List<ExecutionContext.Allocation> first = null;
                for (int run = 0; run < 20; run++) {
                    Tracked job = new Tracked();
                    cpu.sgemm(m, k, n, inBytes(a), inBytes(b), new float[m * n], job);
                    if (first == null) {
                        first = job.arena.allocations();
                        assertEquals(3 * first.stream().filter(x -> x.label().startsWith("scratch:sgemm-w0-")).count(),
                                first.size(), "three workspaces, alike: " + first);
                    } else {
                        assertEquals(first, job.arena.allocations(), cpu.sgemmImplementation() + " run " + run);
                    }
                    job.arena.close();
                }
            }
        }
    }

    @Test
    void concurrentJobs_eachWipesOnlyItsOwnScratch() throws Exception {
        long seed = SEED + 2;
        System.out.println("concurrentJobs_eachWipesOnlyItsOwnScratch seed=" + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        int[][] shapes = {{130, 600, 33}, {101, 521, 263}};
        float[][] as = new float[2][];
        float[][] bs = new float[2][];
        for (int j = 0; j < 2; j++) {
            as[j] = randomFloats(rnd, shapes[j][0] * shapes[j][1]);
            bs[j] = randomFloats(rnd, shapes[j][1] * shapes[j][2]);
        }
        ExecutorService jobs = Executors.newFixedThreadPool(2);
        try {
            for (CpuReference cpu : new CpuReference[] {new CpuReference(2), CpuReference.withoutVectorApi(2)}) {
                try (cpu) {
                    float[][] want = new float[2][];
                    for (int j = 0; j < 2; j++) {
                        want[j] = new float[shapes[j][0] * shapes[j][2]];
                        cpu.sgemm(shapes[j][0], shapes[j][1], shapes[j][2], as[j], bs[j], want[j]);
                    }
                    int shared = cpu.sharedWorkspaces();
                    List<Set<Object>> seen = List.of(Collections.newSetFromMap(new IdentityHashMap<>()),
                            Collections.newSetFromMap(new IdentityHashMap<>()));
                    CountDownLatch start = new CountDownLatch(2);
                    List<Future<?>> done = new ArrayList<>();
                    for (int j = 0; j < 2; j++) {
                        int job = j;
                        done.add(jobs.submit(() -> {
                            start.countDown();
                            start.await();
                            int m = shapes[job][0];
                            int k = shapes[job][1];
                            int n = shapes[job][2];
                            // Each job wipes its scratch (pattern written and read back) while the
                            // other is computing: a shared array would fail the other's bits or
                            // this read-back.
                            for (int run = 0; run < 40; run++) {
                                Tracked t = new Tracked();
                                float[] c = t.floats("scratch:c", m * n);
                                cpu.sgemm(m, k, n, inBytes(as[job]), inBytes(bs[job]), c, t);
                                assertBits(cpu.sgemmImplementation() + " job " + job + " run " + run, want[job], c);
                                t.arena.wipe((byte) 0x3c);
                                for (Object o : t.arrays) {
                                    assertPattern("job " + job + " run " + run, o);
                                }
                                seen.get(job).addAll(t.arrays);
                                t.arena.close();
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : done) {
                        f.get(120, TimeUnit.SECONDS);
                    }
                    for (Object o : seen.get(0)) {
                        assertFalse(seen.get(1).contains(o), "an array both jobs used");
                    }
                    assertEquals(shared, cpu.sharedWorkspaces());
                }
            }
        } finally {
            jobs.shutdownNow();
        }
    }

    @Test
    void trackedSgemm_nullScratch() {
        try (CpuReference cpu = new CpuReference(1)) {
            assertEquals("scratch is null: pass a value", assertThrows(InvalidArgumentException.class,
                    () -> cpu.sgemm(1, 1, 1, inBytes(new float[1]), inBytes(new float[1]), new float[1], null))
                    .getMessage());
        }
    }

    @Test
    void untrackedScratch_usesTheSharedPool() {
        try (CpuReference cpu = new CpuReference(1)) {
            assertEquals(0, cpu.sharedWorkspaces());
            float[] c = new float[6];
            cpu.sgemm(2, 3, 3, inBytes(new float[] {1, 2, 3, 4, 5, 6}), inBytes(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}),
                    c, KernelReference.Scratch.UNTRACKED);
            assertEquals(List.of(1f, 2f, 3f, 4f, 5f, 6f), List.of(c[0], c[1], c[2], c[3], c[4], c[5]));
            assertEquals(1, cpu.sharedWorkspaces());
        }
    }

    private static boolean holdsData(List<Object> arrays) {
        for (Object o : arrays) {
            for (float[] f : o instanceof float[][] rows ? rows : new float[][] {(float[]) o}) {
                for (float x : f) {
                    if (Float.floatToRawIntBits(x) != 0) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static void assertPattern(String what, Object o) {
        for (float[] f : o instanceof float[][] rows ? rows : new float[][] {(float[]) o}) {
            for (int i = 0; i < f.length; i++) {
                if (Float.floatToRawIntBits(f[i]) != PATTERN) {
                    fail(what + ": a kernel array of " + f.length + " floats still holds 0x"
                            + Integer.toHexString(Float.floatToRawIntBits(f[i])) + " at " + i + " after the wipe");
                }
            }
        }
    }

    private static void assertBits(String what, float[] want, float[] got) {
        for (int e = 0; e < want.length; e++) {
            if (Float.floatToRawIntBits(want[e]) != Float.floatToRawIntBits(got[e])) {
                fail(what + ": element " + e + " is " + got[e] + ", the array path gives " + want[e]);
            }
        }
    }

    /** Also used by {@link CpuReferenceOutputBufferTest}. */
    static FloatBuffer inBytes(float[] f) {
        ByteBuffer bb = ByteBuffer.allocate(f.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bb.asFloatBuffer().put(f);
        return bb.asFloatBuffer();
    }

    /** Also used by {@link CpuReferenceOutputBufferTest}. */
    static float[] randomFloats(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return f;
    }
}
