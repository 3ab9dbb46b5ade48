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
 * <p>The prepared check ({@link Freivalds#prepare}) splits the same work by when it can run:
 * {@code freivalds2PreparedProduct} (A and B, before C exists), {@code arrivalHashAndSumC2}/{@code 20}
 * against {@code arrivalHashC} (C summed as it arrives, beside the hashing the buyer does
 * anyway) and {@code freivalds2PreparedAfterLastByte} (what is left on the critical path).
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
    /** C as little-endian bytes, as it arrives at the buyer. */
    private java.nio.ByteBuffer cBytes;
    /** A prepared check with its product side done and all of C accepted: what is left after C's last byte. */
    private Freivalds.Prepared ready;
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
        cBytes = java.nio.ByteBuffer.allocate(4 * n * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        cBytes.asFloatBuffer().put(c);
    }

    /** A fresh prepared check, product side computed and C accepted, for {@link #freivalds2PreparedAfterLastByte}. */
    @Setup(Level.Invocation)
    public void prepareForFinish(org.openjdk.jmh.infra.BenchmarkParams params) {
        if (params.getBenchmark().endsWith("AfterLastByte")) {
            ready = Freivalds.prepare(n, n, n, Freivalds.Options.rigorous(2), seed);
            ready.computeProduct(java.nio.FloatBuffer.wrap(a), java.nio.FloatBuffer.wrap(b), Parallelism.callerThread());
            ready.acceptC(cBytes.duplicate());
        }
    }

    /** Wipes the prepared check. */
    @TearDown(Level.Invocation)
    public void closePrepared() {
        if (ready != null) {
            ready.close();
            ready = null;
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
    /** CPU time in {@code finish} alone (the per-invocation setup is not counted). */
    private long finishCpu;

    /** Starts counting this iteration's calls and the benchmark thread's CPU time. */
    @Setup(Level.Iteration)
    public void startIteration() {
        calls = 0;
        finishCpu = 0;
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
                    params.getBenchmark(), n, threads, calls, (params.getBenchmark().endsWith("AfterLastByte")
                            ? finishCpu : MX.getCurrentThreadCpuTime() - cpuStart) / 1e6 / calls,
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

    /**
     * The critical path of a prepared check: what is left once C's last byte arrived, when the
     * product side ran while the provider computed and C was summed as it arrived (the O(r·n)
     * comparison and tolerance, one thread).
     *
     * @return the report
     */
    @Benchmark
    public VerificationReport freivalds2PreparedAfterLastByte() {
        long t0 = MX.getCurrentThreadCpuTime();
        VerificationReport r = ready.finish(java.nio.FloatBuffer.wrap(a), java.nio.FloatBuffer.wrap(b),
                java.nio.FloatBuffer.wrap(c));
        finishCpu += MX.getCurrentThreadCpuTime() - t0;
        calls++;
        return r;
    }

    /**
     * The prepared check's work before C exists, on the calling thread: the passes over A and B
     * (done while the provider computes, off the buyer's critical path).
     *
     * @return the wiped check (so that the work is not dead code)
     */
    @Benchmark
    public Freivalds.Prepared freivalds2PreparedProduct() {
        calls++;
        Freivalds.Prepared p = Freivalds.prepare(n, n, n, Freivalds.Options.rigorous(2), seed);
        p.computeProduct(java.nio.FloatBuffer.wrap(a), java.nio.FloatBuffer.wrap(b), Parallelism.callerThread());
        p.close();
        return p;
    }

    /** Chunk of C handed over per call on arrival (the gRPC stream's chunk size). */
    private static final int ARRIVAL_CHUNK = 1 << 16;

    /**
     * Baseline of the arrival: C's Merkle root (4 KiB leaves) computed chunk by chunk, as the
     * buyer's output assembler does, one thread.
     *
     * @return the root
     */
    @Benchmark
    public byte[] arrivalHashC() {
        calls++;
        dev.depin.crypto.Merkle.Builder m = dev.depin.crypto.Merkle.builder(4096);
        java.nio.ByteBuffer src = cBytes.duplicate();
        for (int at = 0; at < src.capacity(); at += ARRIVAL_CHUNK) {
            m.update(src.duplicate().position(at).limit(Math.min(src.capacity(), at + ARRIVAL_CHUNK)));
        }
        return m.root();
    }

    /**
     * The arrival with a prepared 2-round check: each chunk hashed, then summed into y^T C while
     * it is in cache, one thread. Minus {@link #arrivalHashC}: the check's marginal arrival cost.
     *
     * @return the root
     */
    @Benchmark
    public byte[] arrivalHashAndSumC2() {
        return arrival(2);
    }

    /** As {@link #arrivalHashAndSumC2} with 20 rounds (the default policy's). @return the root */
    @Benchmark
    public byte[] arrivalHashAndSumC20() {
        return arrival(20);
    }

    private byte[] arrival(int rounds) {
        calls++;
        dev.depin.crypto.Merkle.Builder m = dev.depin.crypto.Merkle.builder(4096);
        java.nio.ByteBuffer src = cBytes.duplicate();
        try (Freivalds.Prepared p = Freivalds.prepare(n, n, n, Freivalds.Options.rigorous(rounds), seed)) {
            for (int at = 0; at < src.capacity(); at += ARRIVAL_CHUNK) {
                java.nio.ByteBuffer chunk = src.duplicate().position(at).limit(Math.min(src.capacity(),
                        at + ARRIVAL_CHUNK));
                m.update(chunk.duplicate());
                p.acceptC(chunk);
            }
        }
        return m.root();
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
