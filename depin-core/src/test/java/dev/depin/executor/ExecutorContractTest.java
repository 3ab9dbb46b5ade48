package dev.depin.executor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.executor.spi.ExecutionOutput;
import dev.depin.executor.spi.Executor;
import dev.depin.executor.spi.JobWorkspace;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.PtxKernel;
import dev.depin.kernel.UnsupportedKernelException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract every {@link Executor} meets, run against each implementation (the CPU
 * executor here, the CUDA executor in depin-cuda): the built-in kernels agree with a
 * float64 reference within their documented bounds, on awkward shapes, and inputs are
 * left untouched.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ExecutorContractTest {
    /** Fixed seed for every random input in this suite; printed once. */
    protected static final long SEED = 0x5eed_2026_11_25L;
    private static final double U = Math.ulp(1.0f) / 2; // unit roundoff of float32, 2^-24

    private Executor executor;

    /** @return a fresh executor under test */
    protected abstract Executor createExecutor();

    @BeforeAll
    void start() {
        System.out.println(getClass().getSimpleName() + " seed = 0x" + Long.toHexString(SEED));
        executor = createExecutor();
    }

    @AfterAll
    void stop() {
        executor.close();
    }

    /** @return the executor under test */
    protected Executor executor() {
        return executor;
    }

    @ParameterizedTest(name = "sgemm {0}x{1}x{2}")
    @CsvSource({"1,1,1", "1,7,1", "7,1,5", "2,3,4", "17,19,23", "31,64,33", "64,64,64", "65,129,67",
            "257,1,3", "1,300,257", "127,255,129", "1023,517,771"})
    void sgemm_matchesFloat64WithinBound(int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(SEED ^ (m * 1_000_003L + k * 1009L + n));
        float[] a = random(rnd, m * k);
        float[] b = random(rnd, k * n);
        float[] c = run(BuiltinKernel.SGEMM, LaunchParams.builder().put("m", m).put("k", k).put("n", n).build(),
                Map.of("a", bytes(a), "b", bytes(b)), "c", m * n);
        double gamma = k * U / (1 - k * U);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = 0;
                double abs = 0;
                for (int p = 0; p < k; p++) {
                    exact += (double) a[i * k + p] * b[p * n + j];
                    abs += Math.abs((double) a[i * k + p] * b[p * n + j]);
                }
                double err = Math.abs(c[i * n + j] - exact);
                double bound = gamma * abs + U * Math.abs(exact) + Float.MIN_NORMAL;
                if (err > bound) {
                    throw new AssertionError("C[" + i + "][" + j + "] = " + c[i * n + j] + ", float64 " + exact
                            + ", error " + err + " > bound " + bound + " (seed 0x" + Long.toHexString(SEED) + ")");
                }
            }
        }
    }

    @ParameterizedTest(name = "saxpy n={0}")
    @ValueSource(ints = {1, 2, 7, 1023, 65537, (1 << 20) + 3})
    void saxpy_withinOneUlpOfFloat64(int n) {
        SplittableRandom rnd = new SplittableRandom(SEED + n);
        float[] x = random(rnd, n);
        float[] y = random(rnd, n);
        float alpha = -1.75f;
        float[] out = run(BuiltinKernel.SAXPY, LaunchParams.builder().put("n", n).put("alpha", alpha).build(),
                Map.of("x", bytes(x), "y", bytes(y)), "out", n);
        for (int i = 0; i < n; i++) {
            double exact = (double) alpha * x[i] + y[i];
            double bound = 2 * U * (Math.abs((double) alpha * x[i]) + Math.abs(y[i])) + Float.MIN_NORMAL;
            if (Math.abs(out[i] - exact) > bound) {
                throw new AssertionError("out[" + i + "] = " + out[i] + ", float64 " + exact);
            }
        }
    }

    @ParameterizedTest(name = "reduce-sum n={0}")
    @ValueSource(ints = {1, 2, 7, 1023, 65537, (1 << 20) + 3})
    void reduceSum_withinDocumentedBound(int n) {
        SplittableRandom rnd = new SplittableRandom(SEED - n);
        float[] x = random(rnd, n);
        float[] sum = run(BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", n).build(),
                Map.of("x", bytes(x)), "sum", 1);
        double exact = 0;
        double abs = 0;
        for (float v : x) {
            exact += v;
            abs += Math.abs(v);
        }
        double bound = n * Math.ulp(1.0) * abs + U * Math.abs(exact) + Float.MIN_NORMAL;
        assertTrue(Math.abs(sum[0] - exact) <= bound, "sum " + sum[0] + " vs float64 " + exact + " bound " + bound);
    }

    @Test
    void execute_leavesInputsUntouchedAndAllocatesFromWorkspace() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] a = random(rnd, 6 * 5);
        float[] b = random(rnd, 5 * 4);
        ByteBuffer ab = bytes(a);
        ByteBuffer bb = bytes(b);
        JobWorkspace ws = new JobWorkspace();
        ExecutionOutput out = executor.execute(BuiltinKernel.SGEMM,
                LaunchParams.builder().put("m", 6).put("k", 5).put("n", 4).build(), Map.of("a", ab, "b", bb), ws);
        assertArrayEquals(a, floats(ab.duplicate(), a.length));
        assertArrayEquals(b, floats(bb.duplicate(), b.length));
        assertEquals(0, ab.position());
        assertEquals(List.of("c"), List.copyOf(out.outputs().keySet()));
        assertTrue(ws.totalBytes() >= 6 * 4 * Float.BYTES, "outputs must come from the workspace");
        assertTrue(out.outputs().get("c").isReadOnly());
        assertTrue(!out.endedAt().isBefore(out.startedAt()));
    }

    @Test
    void execute_userPtxOnlyWhereSupported() {
        PtxKernel ptx = new PtxKernel("noop", ".version 8.0\n.target sm_80\n.address_size 64\n"
                + ".visible .entry noop(.param .u64 out) { ret; }\n", List.of(PtxKernel.Param.output("out")));
        LaunchParams p = LaunchParams.builder().put("gridX", 1).put("gridY", 1).put("gridZ", 1)
                .put("blockX", 1).put("blockY", 1).put("blockZ", 1).put("out.bytes", 4).build();
        if (!executor.supports(ptx)) {
            UnsupportedKernelException e = assertThrows(UnsupportedKernelException.class,
                    () -> executor.execute(ptx, p, Map.of(), new JobWorkspace()));
            assertTrue(e.getMessage().contains("ptx:noop"), e.getMessage());
        }
    }

    @Test
    void device_describesRealHardware() {
        assertTrue(executor.device().fp32Gflops() > 0);
        assertTrue(executor.device().memoryBytes() > 0);
        assertTrue(executor.supports(BuiltinKernel.SGEMM) && executor.supports(BuiltinKernel.SAXPY)
                && executor.supports(BuiltinKernel.REDUCE_SUM));
    }

    private float[] run(BuiltinKernel k, LaunchParams p, Map<String, ByteBuffer> inputs, String output, int count) {
        ExecutionOutput out = executor.execute(k, p, inputs, new JobWorkspace());
        ByteBuffer buf = out.outputs().get(output);
        assertEquals((long) count * Float.BYTES, buf.remaining(), "output size");
        return floats(buf, count);
    }

    /** @return {@code n} floats uniform in [-1, 1) */
    protected static float[] random(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    /** @return a little-endian buffer holding {@code f} */
    protected static ByteBuffer bytes(float[] f) {
        ByteBuffer b = ByteBuffer.allocate(f.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(f);
        return b;
    }

    /** @return {@code count} floats read from {@code b} */
    protected static float[] floats(ByteBuffer b, int count) {
        float[] f = new float[count];
        b.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }
}
