package dev.depin.kernel;


import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.depin.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class CpuReferenceTest {

    /** Fixed seed: every run sees the same inputs. Printed so a failure can be replayed. */
    private static final long SEED = 0x5EED_CAFE_2024L;

    private static final int[][] GEMM_SHAPES = {
        {1, 1, 1}, {1, 7, 1}, {7, 1, 5}, {2, 3, 4}, {17, 19, 23}, {31, 64, 33}, {64, 64, 64},
        {65, 129, 67}, {257, 1, 3}, {1, 300, 257},
    };

    private static final int[] VECTOR_SIZES = {1, 2, 7, 1023, 65537, (1 << 20) + 3};

    private static final int[] THREADS = {1, 2, 3};

    /** 1, 2 and 3 threads with the default SGEMM (the Vector API where resolved), then the plain one. */
    private static CpuReference[] kernels;

    @BeforeAll
    static void start() {
        System.out.println("CpuReferenceTest seed=" + SEED);
        kernels = new CpuReference[2 * THREADS.length];
        for (int t = 0; t < THREADS.length; t++) {
            kernels[t] = new CpuReference(THREADS[t]);
            kernels[THREADS.length + t] = CpuReference.withoutVectorApi(THREADS[t]);
        }
        System.out.println("CpuReferenceTest sgemm: " + kernels[0].sgemmImplementation() + " and "
                + kernels[THREADS.length].sgemmImplementation());
    }

    @AfterAll
    static void stop() {
        for (CpuReference k : kernels) {
            k.close();
        }
    }

    // ---------------------------------------------------------------------------- SGEMM

    @Test
    void sgemm_smallAndPrimeShapes() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int[] shape : GEMM_SHAPES) {
            for (CpuReference k : kernels) {
                checkGemm(k, shape[0], shape[1], shape[2], rnd);
            }
        }
    }

    @Test
    void sgemm_primeShapes() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int[][] primes = {{13, 251, 263}, {97, 3, 331}, {5, 509, 11}};
        for (int[] shape : primes) {
            for (CpuReference k : kernels) {
                checkGemm(k, shape[0], shape[1], shape[2], rnd);
            }
        }
    }

    @Test
    void sgemm_largeNonMultipleOfTiles() {
        // 1023 x 517 x 771: several K panels, several N panels, a 3-row tail, odd k.
        checkGemm(kernels[1], 1023, 517, 771, new SplittableRandom(SEED + 2));
        // Past every block of the vector implementation (MC 96, KC 256, NC 1024) with edges in all three.
        checkGemm(kernels[0], 101, 521, 1061, new SplittableRandom(SEED + 12));
        checkGemm(kernels[THREADS.length + 1], 101, 521, 1061, new SplittableRandom(SEED + 12));
    }

    @Test
    void sgemm_usesTheVectorApiWhereTheJvmResolvedIt() {
        // The build's test JVMs run with --add-modules jdk.incubator.vector, so the fast path is
        // the one these tests check; without the module the plain one is used.
        boolean resolved = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertEquals(resolved, kernels[0].sgemmImplementation().startsWith("vector-api"),
                kernels[0].sgemmImplementation());
        assertTrue(kernels[THREADS.length].sgemmImplementation().startsWith("scalar"));
    }

    @Test
    void sgemm_signedZerosInfinitiesAndNaNsFollowTheDefinition() {
        int m = 13;
        int k = 259;
        int n = 37;
        SplittableRandom rnd = new SplittableRandom(SEED + 13);
        float[] a = randomFloats(rnd, m * k);
        float[] b = randomFloats(rnd, k * n);
        for (int p = 0; p < k; p++) {
            a[p] = -1e-30f; // row 0 x column 0: every product underflows to -0.0, the chain stays -0.0
            b[p * n] = 1e-30f;
            a[k + p] = p == 100 ? Float.POSITIVE_INFINITY : a[k + p]; // row 1: inf (or NaN where b = 0 or -inf meets +inf)
            a[2 * k + p] = p == 7 ? Float.intBitsToFloat(0xffc00001) : a[2 * k + p]; // row 2: a NaN with a payload
            a[3 * k + p] = p == 3 ? 3e38f : a[3 * k + p];
            b[p * n + 1] = p == 3 ? 3e38f : b[p * n + 1]; // row 3 x column 1 overflows to +inf
        }
        b[100 * n + 2] = 0f; // inf * 0 = NaN at row 1, column 2
        float[] want = definition(m, k, n, a, b);
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(want[0]), "the test's own -0.0 case");
        assertTrue(Float.isNaN(want[n + 2]) && Float.isNaN(want[2 * n]) && want[3 * n + 1] == Float.POSITIVE_INFINITY,
                "the test's own NaN and infinity cases");
        for (CpuReference kk : kernels) {
            float[] c = new float[m * n];
            kk.sgemm(m, k, n, a, b, c);
            for (int e = 0; e < m * n; e++) {
                if (Float.floatToRawIntBits(want[e]) != Float.floatToRawIntBits(c[e])) {
                    fail(kk.sgemmImplementation() + " threads=" + kk.threads() + ": element " + e + " is 0x"
                            + Integer.toHexString(Float.floatToRawIntBits(c[e])) + ", the definition gives 0x"
                            + Integer.toHexString(Float.floatToRawIntBits(want[e])));
                }
            }
        }
    }

    @Test
    void sgemm_sameBitsForEveryThreadCount() {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        int m = 150;
        int k = 301;
        int n = 203;
        float[] a = randomFloats(rnd, m * k);
        float[] b = randomFloats(rnd, k * n);
        float[] first = null;
        for (CpuReference kk : kernels) {
            float[] c = new float[m * n];
            kk.sgemm(m, k, n, a, b, c);
            if (first == null) {
                first = c;
            } else {
                assertArrayEquals(first, c, "threads=" + kk.threads());
            }
        }
    }

    @Test
    void sgemm_overwritesC() {
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        float[] a = randomFloats(rnd, 64 * 70);
        float[] b = randomFloats(rnd, 70 * 80);
        float[] c = new float[64 * 80 + 5];
        java.util.Arrays.fill(c, Float.NaN);
        kernels[1].sgemm(64, 70, 80, a, b, c);
        assertArrayEquals(floatReference(64, 70, 80, a, b), java.util.Arrays.copyOf(c, 64 * 80));
        for (int i = 64 * 80; i < c.length; i++) {
            assertTrue(Float.isNaN(c[i]), "element beyond m*n was touched");
        }
    }

    @Test
    void sgemm_concurrentCallers() throws Exception {
        int[][] shapes = {{65, 129, 67}, {128, 64, 200}, {1, 300, 257}, {99, 257, 31}};
        ExecutorService callers = Executors.newFixedThreadPool(shapes.length);
        try {
            CpuReference shared = kernels[1];
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < shapes.length; t++) {
                int[] s = shapes[t];
                long seed = SEED + 100 + t;
                futures.add(callers.submit((Callable<Void>) () -> {
                    SplittableRandom rnd = new SplittableRandom(seed);
                    float[] a = randomFloats(rnd, s[0] * s[1]);
                    float[] b = randomFloats(rnd, s[1] * s[2]);
                    float[] expected = floatReference(s[0], s[1], s[2], a, b);
                    float[] c = new float[s[0] * s[2]];
                    for (int rep = 0; rep < 20; rep++) {
                        java.util.Arrays.fill(c, -1f);
                        shared.sgemm(s[0], s[1], s[2], a, b, c);
                        assertArrayEquals(expected, c, "shape " + s[0] + "x" + s[1] + "x" + s[2] + " rep " + rep);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            callers.shutdownNow();
        }
    }

    /**
     * Checks one product twice: bit for bit against the documented fma chain (float, increasing p),
     * and against a float64 reference within {@code γ_k · Σ|a_ip||b_pj|} per element.
     */
    private static void checkGemm(CpuReference kernel, int m, int k, int n, SplittableRandom rnd) {
        String where = m + "x" + k + "x" + n + " threads=" + kernel.threads();
        float[] a = randomFloats(rnd, m * k);
        float[] b = randomFloats(rnd, k * n);
        float[] c = new float[m * n];
        java.util.Arrays.fill(c, 42f);
        kernel.sgemm(m, k, n, a, b, c);

        double[] exact = new double[m * n];
        double[] absSum = new double[m * n];
        float[] ordered = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                float aip = a[i * k + p];
                double aipd = aip;
                double aipAbs = Math.abs(aipd);
                int row = i * n;
                int brow = p * n;
                for (int j = 0; j < n; j++) {
                    float bpj = b[brow + j];
                    exact[row + j] += aipd * bpj;
                    absSum[row + j] += aipAbs * Math.abs(bpj);
                    ordered[row + j] = Math.fma(aip, bpj, ordered[row + j]);
                }
            }
        }
        double u = 0x1p-24;
        double gamma = k * u / (1 - k * u);
        // The float64 reference has its own rounding error, at most about k * 2^-53 * Σ|a||b|.
        double slack = 2 * k * 0x1p-53;
        for (int e = 0; e < m * n; e++) {
            double err = Math.abs(c[e] - exact[e]);
            double bound = (gamma + slack) * absSum[e];
            if (err > bound) {
                fail(where + ": element " + e + " = " + c[e] + ", float64 " + exact[e] + ", |err| " + err
                        + " > bound " + bound);
            }
            if (Float.floatToRawIntBits(c[e]) != Float.floatToRawIntBits(ordered[e])) {
                fail(where + ": element " + e + " = " + c[e] + " but the documented fma chain in k order is "
                        + ordered[e]);
            }
        }
    }

    private static float[] floatReference(int m, int k, int n, float[] a, float[] b) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                float aip = a[i * k + p];
                for (int j = 0; j < n; j++) {
                    c[i * n + j] = Math.fma(aip, b[p * n + j], c[i * n + j]);
                }
            }
        }
        return c;
    }

    // ---------------------------------------------------------------------------- SAXPY

    @Test
    void saxpy_matchesFloat64Reference() {
        SplittableRandom rnd = new SplittableRandom(SEED + 5);
        for (int n : VECTOR_SIZES) {
            float alpha = (float) (rnd.nextDouble() * 4 - 2);
            float[] x = randomFloats(rnd, n);
            float[] y = randomFloats(rnd, n);
            for (CpuReference k : kernels) {
                float[] out = new float[n + 3];
                out[n] = 7f;
                k.saxpy(n, alpha, x, y, out);
                String where = "n=" + n + " threads=" + k.threads();
                for (int i = 0; i < n; i++) {
                    double ax = (double) alpha * x[i];
                    double exact = ax + y[i];
                    // fl(fl(ax) + y): two roundings of relative size 2^-24 each.
                    double bound = 0x1p-23 * (Math.abs(ax) + Math.abs(y[i])) + Float.MIN_VALUE;
                    if (Math.abs(out[i] - exact) > bound) {
                        fail(where + ": out[" + i + "] = " + out[i] + ", float64 " + exact);
                    }
                    if (out[i] != alpha * x[i] + y[i]) {
                        fail(where + ": out[" + i + "] is not fl(fl(alpha*x)+y)");
                    }
                }
                assertEquals(7f, out[n], where + ": element beyond n was touched");
            }
        }
    }

    @Test
    void saxpy_outMayBeY() {
        SplittableRandom rnd = new SplittableRandom(SEED + 6);
        int n = (1 << 17) + 5;
        float[] x = randomFloats(rnd, n);
        float[] y = randomFloats(rnd, n);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            expected[i] = 3f * x[i] + y[i];
        }
        kernels[2].saxpy(n, 3f, x, y, y);
        assertArrayEquals(expected, y);
    }

    // ---------------------------------------------------------------------------- reduceSum

    @Test
    void reduceSum_matchesFloat64Reference() {
        SplittableRandom rnd = new SplittableRandom(SEED + 7);
        for (int n : VECTOR_SIZES) {
            float[] x = randomFloats(rnd, n);
            double exact = 0;
            double abs = 0;
            for (int i = 0; i < n; i++) {
                exact += x[i];
                abs += Math.abs(x[i]);
            }
            float documented = documentedOrderSum(n, x);
            for (CpuReference k : kernels) {
                float s = k.reduceSum(n, x);
                String where = "n=" + n + " threads=" + k.threads();
                // Our double sum and the reference each err by at most ~n 2^-53 Σ|x|; then one
                // rounding to float.
                double bound = 2.0 * n * 0x1p-53 * abs + 0x1p-24 * Math.abs(exact) + Float.MIN_VALUE;
                assertTrue(Math.abs(s - exact) <= bound,
                        where + ": sum " + s + ", float64 " + exact + ", bound " + bound);
                assertEquals(Float.floatToRawIntBits(documented), Float.floatToRawIntBits(s),
                        where + ": not the documented summation order");
            }
        }
    }

    @Test
    void reduceSum_sameBitsForEveryThreadCount() {
        SplittableRandom rnd = new SplittableRandom(SEED + 8);
        int n = (1 << 20) + 3;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            // Wide dynamic range, so that a change of order is more likely to show.
            x[i] = (float) ((rnd.nextDouble() - 0.5) * Math.scalb(1.0, rnd.nextInt(-20, 40)));
        }
        float one = kernels[0].reduceSum(n, x);
        float three = kernels[2].reduceSum(n, x);
        assertEquals(Float.floatToRawIntBits(one), Float.floatToRawIntBits(three),
                "threads=1 gave " + one + ", threads=3 gave " + three);
        assertEquals(Float.floatToRawIntBits(one), Float.floatToRawIntBits(kernels[1].reduceSum(n, x)));
    }

    /**
     * Inputs built around 2^53 + 1 == 2^53 in double (ties to even): each case gives a different
     * float result for any other plausible order, so these pin the documented one down.
     */
    @Test
    void reduceSum_documentedOrder() {
        float big = 0x1p53f;
        int block = CpuReference.REDUCE_BLOCK;

        // Lanes combine as ((l0+l1)+(l2+l3)): (2^53 + 1) + (1 - 2^53) = 1 per block (in index
        // order, or ((l0+l1)+l2)+l3, it would be 0).
        float[] lanes = new float[3 * block];
        for (int s = 0; s < lanes.length; s += block) {
            lanes[s] = big;
            lanes[s + 1] = 1f;
            lanes[s + 2] = 1f;
            lanes[s + 3] = -big;
        }
        assertReduceSum(3f, lanes);

        // The tail of a short last block goes to lane 0, where 2^53 absorbs it (in lane 1 it
        // would survive as -2^53 + 1).
        float[] tail = new float[block + 9];
        tail[block] = big;
        tail[block + 1] = -big;
        tail[block + 8] = 1f;
        assertReduceSum(0f, tail);

        // Block partials are added in block order, whatever thread computed them: 2^53 (block 0)
        // absorbs the 1s of blocks 15 and 16 before -2^53 (block 31) arrives. Summing per thread
        // first would give 1.
        float[] blocks = new float[32 * block];
        blocks[0] = big;
        blocks[15 * block] = 1f;
        blocks[16 * block] = 1f;
        blocks[31 * block] = -big;
        assertReduceSum(0f, blocks);
    }

    private static void assertReduceSum(float expected, float[] x) {
        assertEquals(expected, documentedOrderSum(x.length, x), "test helper disagrees with the case");
        for (CpuReference k : kernels) {
            assertEquals(expected, k.reduceSum(x.length, x), "n=" + x.length + " threads=" + k.threads());
        }
    }

    /** The order documented on {@link CpuReference#reduceSum}, written out independently. */
    private static float documentedOrderSum(int n, float[] x) {
        int block = 4096;
        double total = 0;
        for (int s = 0; s < n; s += block) {
            int e = Math.min(n, s + block);
            double[] lane = new double[8];
            int whole = s + (e - s) / 8 * 8;
            for (int i = s; i < whole; i++) {
                lane[(i - s) % 8] += x[i];
            }
            for (int i = whole; i < e; i++) {
                lane[0] += x[i];
            }
            total += ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        }
        return (float) total;
    }

    // ---------------------------------------------------------------------------- bad input

    /**
     * B read in place from a buffer, in panels and column windows, gives exactly the bits of the
     * array SGEMM: shapes across the 256-row panels (k = 600), panels shortened by a wide window
     * (w = 1500: 174 rows of B each), windows of one column and of a row's tail, every thread count
     * and both implementations, and the special values of the definition.
     */
    @Test
    void sgemmFromBuffer_sameBitsAsSgemm() {
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {17, 600, 33}, {5, 300, 1500}, {64, 257, 130}};
        SplittableRandom rnd = new SplittableRandom(SEED + 14);
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[][] operands = edgeOperands(rnd, m, k, n);
            float[] a = operands[0];
            float[] b = operands[1];
            float[] want = new float[m * n];
            kernels[0].sgemm(m, k, n, a, b, want);
            // B behind a position and in big-endian bytes: the method reads floats, not bytes.
            java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * (k * n + 3));
            bytes.asFloatBuffer().put(3, b);
            java.nio.FloatBuffer bb = bytes.asFloatBuffer().position(3).asReadOnlyBuffer();
            int[][] windows = {{0, n}, {n - 1, n}, {n / 3, n}, {0, (n + 1) / 2}};
            for (CpuReference kk : kernels) {
                for (int[] w : windows) {
                    int width = w[1] - w[0];
                    float[] c = new float[m * width];
                    java.util.Arrays.fill(c, 42f); // overwritten, whatever it held
                    kk.sgemm(m, k, n, a, bb, w[0], w[1], c);
                    assertEquals(3, bb.position());
                    assertWindowBits(kk, m, k, n, w, c, want, "sgemm");
                }
            }
        }
    }

    /**
     * A few rows of a product with B read in place (what a spot check recomputes: sampled rows,
     * or a window of one row) against the definition written out here, not against another
     * SGEMM: one fma chain per element from +0.0f, NaN as 0x7fffffff. Row counts around the
     * micro-tiles (1..9, 52 as a spot check of n = 1024 samples, 256, 257), depths across the
     * 256-row panels (1, odd, 4097: 17 panels of a one-column window), widths around the
     * vector widths (1, 7, 15, 16, 17, 33, 1031), windows at both edges, both implementations
     * and every thread count, with inf, NaN with a payload, -0.0 and an element overflowing to inf.
     */
    @Test
    void sgemmFromBuffer_fewRowsFollowTheDefinition() {
        long seed = SEED + 16;
        System.out.println("sgemmFromBuffer_fewRowsFollowTheDefinition seed=" + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        int[][] shapes = {{1, 1, 1}, {1, 4097, 3}, {2, 3, 7}, {3, 17, 15}, {4, 33, 16}, {5, 255, 17}, {6, 1, 33},
            {7, 64, 1031}, {8, 19, 100}, {9, 40, 65}, {52, 129, 97}, {256, 13, 37}, {257, 13, 37}};
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[][] operands = edgeOperands(rnd, m, k, n);
            float[] a = operands[0];
            float[] b = operands[1];
            if (k > 4 && n > 2) {
                a[k + 4 < m * k ? k + 4 : 4] = 3e38f; // row 1 (or 0) × column 2 overflows to inf
                b[4 * n + 2] = 3e38f;
                b[(k - 1) * n + n - 1] = -0.0f;
            }
            float[] want = definition(m, k, n, a, b);
            java.nio.FloatBuffer bb = java.nio.ByteBuffer.allocateDirect(4 * k * n)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(b).flip();
            int[][] windows = {{0, n}, {n - 1, n}, {0, 1}, {n / 2, n}, {1 % n, Math.max(1 % n + 1, n - 1)}};
            for (CpuReference kk : kernels) {
                for (int[] w : windows) {
                    if (w[1] > n) {
                        continue;
                    }
                    int width = w[1] - w[0];
                    float[] c = new float[m * width];
                    java.util.Arrays.fill(c, 42f);
                    kk.sgemm(m, k, n, a, bb, w[0], w[1], c);
                    assertWindowBits(kk, m, k, n, w, c, want, "the definition");
                }
            }
        }
    }

    /**
     * A and B read in place from byte buffers (what the CPU executor's SGEMM does with the bytes
     * it staged) give exactly the bits of the array SGEMM: shapes with edges in every block of
     * both implementations (MC 96/128, KC 256, NC 1024 and 256), the column-split path (one row),
     * every thread count, operands behind a position in heap, read-only and direct buffers, and
     * the special values of the definition (inf, NaN with a payload, a sum underflowing to -0.0).
     */
    @Test
    void sgemmInPlace_sameBitsAsSgemm() {
        int[][] shapes = {{1, 1, 1}, {7, 1, 5}, {17, 19, 23}, {13, 251, 263}, {1, 300, 257}, {130, 600, 33},
            {101, 521, 1061}};
        long seed = SEED + 15;
        System.out.println("sgemmInPlace_sameBitsAsSgemm seed=" + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[][] operands = edgeOperands(rnd, m, k, n);
            float[] a = operands[0];
            float[] b = operands[1];
            float[] want = new float[m * n];
            kernels[0].sgemm(m, k, n, a, b, want);
            java.nio.FloatBuffer[][] places = {
                {inBytes(a, 0, false), inBytes(b, 0, false)},
                {inBytes(a, 5, false).asReadOnlyBuffer(), inBytes(b, 3, true).asReadOnlyBuffer()},
                {java.nio.FloatBuffer.wrap(a), inBytes(b, 1, true)},
            };
            for (CpuReference kk : kernels) {
                for (java.nio.FloatBuffer[] ab : places) {
                    int aAt = ab[0].position();
                    int bAt = ab[1].position();
                    float[] c = new float[m * n];
                    java.util.Arrays.fill(c, 42f); // overwritten, whatever it held
                    kk.sgemm(m, k, n, ab[0], ab[1], c);
                    assertEquals(aAt, ab[0].position());
                    assertEquals(bAt, ab[1].position());
                    for (int e = 0; e < m * n; e++) {
                        int got = Float.floatToRawIntBits(c[e]);
                        int expected = Float.floatToRawIntBits(want[e]);
                        if (got != expected) {
                            fail(kk.sgemmImplementation() + " threads=" + kk.threads() + " " + m + "x" + k + "x" + n
                                    + " from " + ab[0] + " and " + ab[1] + ": element (" + e / n + ", " + e % n
                                    + ") is 0x" + Integer.toHexString(got) + ", sgemm gives 0x"
                                    + Integer.toHexString(expected));
                        }
                    }
                }
            }
        }
    }

    @Test
    void sgemmInPlace_badArguments() {
        CpuReference k = kernels[1];
        java.nio.FloatBuffer a = inBytes(new float[6], 0, false);
        java.nio.FloatBuffer b = inBytes(new float[12], 0, false);
        float[] c = new float[8];
        k.sgemm(2, 3, 4, a, b, c); // the valid call the variants below break
        assertBad("m", () -> k.sgemm(0, 3, 4, a, b, c));
        assertBad("k", () -> k.sgemm(2, 0, 4, a, b, c));
        assertBad("n", () -> k.sgemm(2, 3, 0, a, b, c));
        assertEquals("a must not be null", assertThrows(InvalidArgumentException.class,
                () -> k.sgemm(2, 3, 4, (java.nio.FloatBuffer) null, b, c)).getMessage());
        assertEquals("b must not be null", assertThrows(InvalidArgumentException.class,
                () -> k.sgemm(2, 3, 4, a, (java.nio.FloatBuffer) null, c)).getMessage());
        assertEquals("a must have >= m*k = 6 floats remaining but has 5", assertThrows(InvalidArgumentException.class,
                () -> k.sgemm(2, 3, 4, a.duplicate().position(1), b, c)).getMessage());
        assertEquals("b must have >= k*n = 12 floats remaining but has 11", assertThrows(
                InvalidArgumentException.class, () -> k.sgemm(2, 3, 4, a, b.duplicate().limit(11), c)).getMessage());
        assertBad("c", () -> k.sgemm(2, 3, 4, a, b, null));
        assertBad("c.length", () -> k.sgemm(2, 3, 4, a, b, new float[7]));
    }

    /** {@code f} as little-endian floats in a heap or direct byte buffer, behind {@code skip} other floats. */
    private static java.nio.FloatBuffer inBytes(float[] f, int skip, boolean direct) {
        int bytes = 4 * (skip + f.length);
        java.nio.ByteBuffer bb = (direct ? java.nio.ByteBuffer.allocateDirect(bytes) : java.nio.ByteBuffer.allocate(bytes))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        java.nio.FloatBuffer fb = bb.asFloatBuffer();
        fb.put(skip, f);
        return fb.position(skip);
    }

    @Test
    void sgemmFromBuffer_badArguments() {
        CpuReference k = kernels[1];
        float[] a = new float[6];
        java.nio.FloatBuffer b = java.nio.FloatBuffer.allocate(12);
        float[] c = new float[8];
        k.sgemm(2, 3, 4, a, b, 0, 4, c); // the valid call the variants below break
        assertBad("m", () -> k.sgemm(0, 3, 4, a, b, 0, 4, c));
        assertBad("k", () -> k.sgemm(2, 0, 4, a, b, 0, 4, c));
        assertBad("n", () -> k.sgemm(2, 3, 0, a, b, 0, 4, c));
        assertEquals("columns [2, 2) are not a non-empty range of the n = 4 columns of B", assertThrows(
                InvalidArgumentException.class, () -> k.sgemm(2, 3, 4, a, b, 2, 2, c)).getMessage());
        assertEquals("columns [-1, 4) are not a non-empty range of the n = 4 columns of B", assertThrows(
                InvalidArgumentException.class, () -> k.sgemm(2, 3, 4, a, b, -1, 4, c)).getMessage());
        assertEquals("columns [0, 5) are not a non-empty range of the n = 4 columns of B", assertThrows(
                InvalidArgumentException.class, () -> k.sgemm(2, 3, 4, a, b, 0, 5, c)).getMessage());
        assertBad("a", () -> k.sgemm(2, 3, 4, null, b, 0, 4, c));
        assertBad("a.length", () -> k.sgemm(2, 3, 4, new float[5], b, 0, 4, c));
        assertBad("c.length", () -> k.sgemm(2, 3, 4, a, b, 0, 4, new float[7]));
        k.sgemm(2, 3, 4, a, b, 1, 4, new float[6]); // a window needs only its columns
        assertEquals("b must not be null", assertThrows(InvalidArgumentException.class,
                () -> k.sgemm(2, 3, 4, a, null, 0, 4, c)).getMessage());
        assertEquals("b must have >= k*n = 12 floats remaining but has 11", assertThrows(
                InvalidArgumentException.class, () -> k.sgemm(2, 3, 4, a, b.duplicate().position(1), 0, 4, c))
                .getMessage());
        float[] square = new float[4];
        assertEquals("c must not be the same array as a: C is overwritten while A is still being read", assertThrows(
                InvalidArgumentException.class, () -> k.sgemm(2, 2, 2, square, java.nio.FloatBuffer.allocate(4), 0, 2,
                        square)).getMessage());
    }

    @Test
    void constructor_badThreads() {
        assertBad("threads", () -> new CpuReference(0));
        assertBad("threads", () -> new CpuReference(-2));
    }

    @Test
    void sgemm_badArguments() {
        CpuReference k = kernels[0];
        float[] a = new float[6];
        float[] b = new float[12];
        float[] c = new float[8];
        k.sgemm(2, 3, 4, a, b, c); // the valid call the variants below break
        assertBad("m", () -> k.sgemm(0, 3, 4, a, b, c));
        assertBad("m", () -> k.sgemm(-1, 3, 4, a, b, c));
        assertBad("k", () -> k.sgemm(2, 0, 4, a, b, c));
        assertBad("n", () -> k.sgemm(2, 3, -5, a, b, c));
        assertBad("a", () -> k.sgemm(2, 3, 4, null, b, c));
        assertBad("b", () -> k.sgemm(2, 3, 4, a, null, c));
        assertBad("c", () -> k.sgemm(2, 3, 4, a, b, null));
        assertBad("a.length", () -> k.sgemm(2, 3, 4, new float[5], b, c));
        assertBad("b.length", () -> k.sgemm(2, 3, 4, a, new float[11], c));
        assertBad("c.length", () -> k.sgemm(2, 3, 4, a, b, new float[7]));
        assertBad("m*k", () -> k.sgemm(1 << 16, 1 << 16, 1, a, b, c));
        assertBad("k*n", () -> k.sgemm(1, 1 << 16, 1 << 16, a, b, c));
        assertBad("m*n", () -> k.sgemm(1 << 16, 1, 1 << 16, a, b, c));
        float[] square = new float[4];
        assertBad("c must not be the same array as a", () -> k.sgemm(2, 2, 2, square, new float[4], square));
        assertBad("c must not be the same array as b", () -> k.sgemm(2, 2, 2, new float[4], square, square));
    }

    @Test
    void saxpy_badArguments() {
        CpuReference k = kernels[1];
        float[] v = new float[4];
        assertBad("n", () -> k.saxpy(0, 1f, v, v, v));
        assertBad("n", () -> k.saxpy(-3, 1f, v, v, v));
        assertBad("x", () -> k.saxpy(4, 1f, null, v, v));
        assertBad("x.length", () -> k.saxpy(4, 1f, new float[3], v, v));
        assertBad("y.length", () -> k.saxpy(4, 1f, v, new float[3], v));
        assertBad("out.length", () -> k.saxpy(4, 1f, v, v, new float[3]));
        assertBad("out", () -> k.saxpy(4, 1f, v, v, null));
    }

    @Test
    void reduceSum_badArguments() {
        CpuReference k = kernels[2];
        assertBad("n", () -> k.reduceSum(0, new float[1]));
        assertBad("x", () -> k.reduceSum(1, null));
        assertBad("x.length", () -> k.reduceSum(5, new float[4]));
    }

    @Test
    void close_laterCallsFail() {
        CpuReference k = new CpuReference(2);
        float[] v = new float[1 << 17];
        k.saxpy(v.length, 1f, v, v, v);
        k.close();
        k.close(); // idempotent
        assertThrows(ReferenceClosedException.class, () -> k.sgemm(1, 1, 1, new float[1], new float[1], new float[1]));
        assertThrows(ReferenceClosedException.class, () -> k.sgemm(1, 1, 1, new float[1], java.nio.FloatBuffer.allocate(1),
                0, 1, new float[1]));
        assertThrows(ReferenceClosedException.class, () -> k.saxpy(v.length, 1f, v, v, v));
        assertThrows(ReferenceClosedException.class, () -> k.reduceSum(v.length, v));
    }

    @Test
    void threads_workersAreNamedDaemons() {
        try (CpuReference k = new CpuReference(3)) {
            float[] v = new float[1 << 18];
            k.saxpy(v.length, 1f, v, v, v);
            assertEquals(3, k.threads());
            boolean seen = false;
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith("depin-cpu-kernel-")) {
                    seen = true;
                    assertTrue(t.isDaemon(), t.getName() + " is not a daemon");
                }
            }
            assertTrue(seen, "no depin-cpu-kernel-N worker thread found");
        }
    }

    /** Asserts an InvalidArgumentException whose message starts with the argument's name. */
    private static void assertBad(String argument, Executable call) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, call);
        String message = e.getMessage();
        assertTrue(message != null && Pattern.compile("^" + Pattern.quote(argument) + "\\b").matcher(message).find(),
                "message should start with '" + argument + "': " + message);
    }

    private static float[] randomFloats(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }

    /**
     * Random A (m×k) and B (k×n), drawn A first, with edge values where the shape has room
     * (k > 10, n > 3): an infinity in row 0 that meets a zero (NaN), a NaN with a payload in
     * column 1, and a last row of A that underflows to -0.0 in column 0.
     */
    /** Columns {@code [w[0], w[1])} of C computed into {@code c} have exactly the bits of the whole {@code want}. */
    private static void assertWindowBits(CpuReference kk, int m, int k, int n, int[] w, float[] c, float[] want,
                                         String wantName) {
        int width = w[1] - w[0];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < width; j++) {
                int got = Float.floatToRawIntBits(c[i * width + j]);
                int expected = Float.floatToRawIntBits(want[i * n + w[0] + j]);
                if (got != expected) {
                    fail(kk.sgemmImplementation() + " threads=" + kk.threads() + " " + m + "x" + k + "x" + n
                            + " columns [" + w[0] + ", " + w[1] + "): element (" + i + ", " + (w[0] + j) + ") is 0x"
                            + Integer.toHexString(got) + ", " + wantName + " gives 0x" + Integer.toHexString(expected));
                }
            }
        }
    }

    /** The SGEMM definition written out: one fma chain per element from +0.0f, NaN as 0x7fffffff. */
    private static float[] definition(int m, int k, int n, float[] a, float[] b) {
        float[] want = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = 0.0f;
                for (int p = 0; p < k; p++) {
                    acc = Math.fma(a[i * k + p], b[p * n + j], acc);
                }
                want[i * n + j] = acc != acc ? Float.intBitsToFloat(0x7fffffff) : acc;
            }
        }
        return want;
    }

    private static float[][] edgeOperands(SplittableRandom rnd, int m, int k, int n) {
        float[] a = randomFloats(rnd, m * k);
        float[] b = randomFloats(rnd, k * n);
        if (k > 10 && n > 3) {
            a[3] = Float.POSITIVE_INFINITY; // row 0: inf, and NaN where it meets a zero
            b[3 * n + 2] = 0f;
            b[5 * n + 1] = Float.intBitsToFloat(0xffc00001); // a NaN with a payload in column 1
            for (int p = 0; p < k; p++) {
                a[(m - 1) * k + p] = -1e-30f; // the last row underflows to -0.0 in column 0
                b[p * n] = 1e-30f;
            }
        }
        return new float[][] {a, b};
    }
}
