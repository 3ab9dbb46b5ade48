package dev.depin.benchmarks.crypto;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.crypto.Parallelism;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.verify.Freivalds;
import dev.depin.kernel.CpuReference;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of checking an n×n×n SGEMM result with {@link Freivalds} (r = 2 rounds, rigorous
 * tolerance) against recomputing the product with the CPU reference kernel
 * ({@link CpuReference#sgemm}) on the same number of threads ({@code threads}, default 2),
 * in the same run: {@code freivalds2} runs on a {@link Parallelism#newPool(int) pool} of
 * {@code threads} that the benchmark owns and closes, {@code freivalds2CallerThread} on the
 * calling thread only (the default without a pool). Scores are ms per operation; the ratio recompute / freivalds is the
 * saving (goal: &ge; 100× at n = 2048).
 *
 * <p>Run: {@code depin-benchmarks/scripts/crypto-baselines.sh}, or
 * <pre>
 * java -jar depin-benchmarks/target/benchmarks.jar 'crypto.FreivaldsBenchmark'
 * </pre>
 */
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@org.openjdk.jmh.annotations.Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "--add-modules", "jdk.incubator.vector"})
public class FreivaldsBenchmark extends BenchmarkBase {
    /** Matrix order. */
    @Param({"1024", "2048", "4096"})
    public int n;

    /** Threads of the reference SGEMM and of Freivalds' pool. */
    @Param("2")
    public int threads;

    private float[] a;
    private float[] b;
    private float[] c;
    private float[] scratch;
    private byte[] seed;
    private CpuReference kernels;
    private Parallelism pool;

    /** Random operands from a fixed seed, and their product. */
    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom r = new SplittableRandom(SEED);
        a = new float[n * n];
        b = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
            b[i] = (float) (r.nextDouble() * 2 - 1);
        }
        kernels = new CpuReference(threads);
        pool = Parallelism.newPool(threads);
        c = new float[n * n];
        kernels.sgemm(n, n, n, a, b, c);
        scratch = new float[n * n];
        seed = new byte[32];
        for (int i = 0; i < seed.length; i++) {
            seed[i] = (byte) r.nextInt();
        }
    }

    /** Stops the kernels' and the pool's threads. */
    @TearDown(Level.Trial)
    public void tearDown() {
        kernels.close();
        pool.close();
    }

    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();
    private long calls;
    private long cpuStart;

    /** Starts counting this iteration's calls and the benchmark thread's CPU time. */
    @Setup(Level.Iteration)
    public void startIteration() {
        calls = 0;
        cpuStart = MX.getCurrentThreadCpuTime();
    }

    /**
     * Prints the benchmark thread's CPU time per call ({@code CPU-PER-CALL}): on this shared
     * machine wall time mostly measures the queue. Only meaningful where all the work is on the
     * benchmark thread: {@code freivalds2CallerThread}, and {@code recomputeSgemm} with threads = 1.
     */
    @TearDown(Level.Iteration)
    public void endIteration(org.openjdk.jmh.infra.BenchmarkParams params) {
        if (calls > 0) {
            System.out.printf("%nCPU-PER-CALL %s n=%d threads=%d calls=%d cpu_ms=%.3f (sgemm: %s)%n",
                    params.getBenchmark(), n, threads, calls, (MX.getCurrentThreadCpuTime() - cpuStart) / 1e6 / calls,
                    kernels.sgemmImplementation());
        }
    }

    /** @return the report of a 2-round Freivalds check of C = A·B, on the pool */
    @Benchmark
    public VerificationReport freivalds2() {
        return Freivalds.verify(a, 0, b, 0, c, 0, n, n, n, Freivalds.Options.rigorous(2), seed, pool);
    }

    /** @return the same check on the calling thread only */
    @Benchmark
    public VerificationReport freivalds2CallerThread() {
        calls++;
        return Freivalds.verify(a, b, c, n, n, n, 2, seed);
    }

    /** @return C recomputed by the reference SGEMM (the baseline a verifier would otherwise pay) */
    @Benchmark
    @Warmup(iterations = 1, time = 1, timeUnit = TimeUnit.SECONDS)
    @Measurement(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
    public float[] recomputeSgemm() {
        calls++;
        kernels.sgemm(n, n, n, a, b, scratch);
        return scratch;
    }
}
