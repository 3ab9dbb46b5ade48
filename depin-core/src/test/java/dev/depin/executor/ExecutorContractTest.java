package dev.depin.executor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.kernel.ShapeMismatchException;
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
 * The contract every {@link DeviceExecutor} meets, run against each implementation (the CPU
 * executor here, the CUDA executor in depin-cuda): the built-in kernels agree with a
 * float64 reference within their documented bounds, on awkward shapes; inputs are
 * left untouched; every buffer the job used is listed, wiped and read back; misuse,
 * cancellation and close fail or behave as the SPI documents.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ExecutorContractTest {
    /** Fixed seed for every random input in this suite; printed once. */
    protected static final long SEED = 0x5eed_2026_11_25L;
    private static final double U = Math.ulp(1.0f) / 2; // unit roundoff of float32, 2^-24

    private DeviceExecutor executor;

    /** @return a fresh executor under test */
    protected abstract DeviceExecutor createExecutor();

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
    protected DeviceExecutor executor() {
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
    void open_leavesCallerBytesUntouchedAndOwnsEveryBuffer() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] a = random(rnd, 6 * 5);
        float[] b = random(rnd, 5 * 4);
        ByteBuffer ab = bytes(a);
        ByteBuffer bb = bytes(b);
        try (ExecutionContext ctx = executor.open(BuiltinKernel.SGEMM,
                LaunchParams.builder().put("m", 6).put("k", 5).put("n", 4).build())) {
            ByteBuffer inA = ctx.input("a");
            assertEquals(a.length * Float.BYTES, inA.remaining(), "input buffer has exactly the declared size");
            assertEquals(ByteOrder.LITTLE_ENDIAN, inA.order());
            inA.put(ab.duplicate());
            ctx.input("b").put(bb.duplicate());
            ctx.run();
            assertArrayEquals(a, floats(ab.duplicate(), a.length));
            assertArrayEquals(b, floats(bb.duplicate(), b.length));
            assertEquals(0, ab.position());
            ByteBuffer c = ctx.output("c");
            assertTrue(c.isReadOnly(), "outputs are handed out read-only");
            assertEquals(6 * 4 * Float.BYTES, c.remaining());
            assertTrue(!ctx.timing().endedAt().isBefore(ctx.timing().startedAt()));
            long allocated = ctx.allocations().stream().mapToLong(ExecutionContext.Allocation::bytes).sum();
            assertTrue(allocated >= (6 * 5 + 5 * 4 + 6 * 4) * Float.BYTES,
                    "inputs and outputs live in the context's allocations: " + ctx.allocations());
        }
    }

    @Test
    void wipe_coversEveryAllocationAndOverwritesOutputs() {
        int n = 70_000; // more than one Merkle chunk, not a multiple of anything
        SplittableRandom rnd = new SplittableRandom(SEED + 7);
        try (ExecutionContext ctx = executor.open(BuiltinKernel.SAXPY,
                LaunchParams.builder().put("n", n).put("alpha", 3f).build())) {
            ctx.input("x").put(bytes(random(rnd, n)));
            ctx.input("y").put(bytes(random(rnd, n)));
            ctx.run();
            ByteBuffer out = ctx.output("out");
            List<ExecutionContext.Allocation> allocations = ctx.allocations();
            List<WipeRecord> records = ctx.wipe((byte) 0xa5);
            assertEquals(allocations.size(), records.size(), "one wipe record per allocation");
            for (int i = 0; i < records.size(); i++) {
                WipeRecord r = records.get(i);
                assertEquals(allocations.get(i).label(), r.label());
                assertEquals(allocations.get(i).bytes(), r.bytes());
                assertEquals(r.bytes(), r.bytesOverwritten(), "every byte overwritten: " + r);
                assertEquals(0xa5, r.pattern());
            }
            for (int i = 0; i < out.remaining(); i++) {
                if (out.get(i) != (byte) 0xa5) {
                    throw new AssertionError("output byte " + i + " survived the wipe");
                }
            }
        }
    }

    @Test
    void context_misuseFailsWithSpecificErrors() {
        LaunchParams p = LaunchParams.builder().put("n", 4).put("alpha", 1f).build();
        try (ExecutionContext ctx = executor.open(BuiltinKernel.SAXPY, p)) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> ctx.input("z"));
            assertTrue(e.getMessage().contains("no input 'z'"), e.getMessage());
            assertThrows(ExecutionFailedException.class, () -> ctx.output("out"), "no output before run()");
            assertThrows(ExecutionFailedException.class, ctx::timing, "no timing before run()");
            ctx.run();
            assertThrows(ExecutionFailedException.class, ctx::run, "a context runs once");
            InvalidArgumentException o = assertThrows(InvalidArgumentException.class, () -> ctx.output("nope"));
            assertTrue(o.getMessage().contains("no output 'nope'"), o.getMessage());
        }
        assertThrows(ShapeMismatchException.class,
                () -> executor.open(BuiltinKernel.SAXPY, LaunchParams.builder().put("n", 4).build()));
        assertThrows(InvalidArgumentException.class, () -> executor.open(null, p));
    }

    @Test
    void cancel_beforeRunStopsIt() {
        try (ExecutionContext ctx = executor.open(BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", 3).build())) {
            assertFalse(ctx.isCancelled());
            ctx.cancel();
            assertTrue(ctx.isCancelled());
            assertThrows(ExecutionCancelledException.class, ctx::run);
            ctx.cancel(); // idempotent
        }
    }

    @Test
    void open_userPtxOnlyWhereSupported() {
        PtxKernel ptx = new PtxKernel("noop", ".version 8.0\n.target sm_80\n.address_size 64\n"
                + ".visible .entry noop(.param .u64 out) { ret; }\n", List.of(PtxKernel.Param.output("out")));
        LaunchParams p = LaunchParams.builder().put("gridX", 1).put("gridY", 1).put("gridZ", 1)
                .put("blockX", 1).put("blockY", 1).put("blockZ", 1).put("out.bytes", 4).build();
        assertEquals(executor.runsUserPtx(), executor.supports(ptx));
        if (!executor.supports(ptx)) {
            UnsupportedKernelException e = assertThrows(UnsupportedKernelException.class, () -> executor.open(ptx, p));
            assertTrue(e.getMessage().contains("ptx:noop"), e.getMessage());
        }
    }

    @Test
    void device_describesRealHardware() {
        assertTrue(executor.device().fp32Gflops() > 0);
        assertTrue(executor.device().memoryBytes() > 0);
        assertFalse(executor.device().runtimeVersion().isBlank());
        for (BuiltinKernel k : BuiltinKernel.values()) {
            assertEquals(executor.kernels().contains(k.id()), executor.supports(k));
        }
        assertTrue(executor.supports(BuiltinKernel.SGEMM) && executor.supports(BuiltinKernel.SAXPY)
                && executor.supports(BuiltinKernel.REDUCE_SUM));
    }

    private float[] run(BuiltinKernel k, LaunchParams p, Map<String, ByteBuffer> inputs, String output, int count) {
        try (ExecutionContext ctx = executor.open(k, p)) {
            inputs.forEach((name, data) -> ctx.input(name).put(data.duplicate()));
            ctx.run();
            ByteBuffer buf = ctx.output(output);
            assertEquals((long) count * Float.BYTES, buf.remaining(), "output size");
            return floats(buf, count);
        }
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
