package dev.depin.benchmarks.executor;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.kernel.CpuReference;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Throughput of the CPU reference kernels ({@link CpuReference}) on {@code threads} threads, with
 * plain single-threaded Java loops as in-run baselines for SAXPY and the sum; the numpy/OpenBLAS
 * baseline is timed by {@code depin-benchmarks/scripts/kernels_vs_numpy.py} right after.
 *
 * <p>Scores are average time per call; derive rates from them:
 * <ul>
 *   <li>{@code sgemm}: n×n×n, 2·n³ flop per call, so GFLOP/s = 2·n³ / (score in ns);</li>
 *   <li>{@code saxpy*}: 16 Mi floats, 3 arrays × 4 B × n = 201,326,592 B per call (read x, read
 *       y, write out), so GB/s = 201326592 / (score in ns);</li>
 *   <li>{@code reduceSum*}: 16 Mi floats, 4 B × n = 67,108,864 B per call.</li>
 * </ul>
 *
 * <p>Run (builds, runs JMH with JSON output, then numpy, and prints the comparison table):
 * <pre>
 * depin-benchmarks/scripts/run-kernel-benchmarks.sh
 * </pre>
 * or JMH alone:
 * <pre>
 * mvn -B -q -o -pl depin-core,depin-benchmarks -am -DskipTests package
 * java -jar depin-benchmarks/target/benchmarks.jar CpuKernelsBenchmark \
 *     -rf json -rff depin-benchmarks/target/jmh-cpu-kernels.json
 * </pre>
 */
public class CpuKernelsBenchmark extends BenchmarkBase {

    /** Elements in the SAXPY and reduction vectors: 16 Mi floats, 64 MiB per array. */
    public static final int VECTOR_LENGTH = 16 * 1024 * 1024;

    /** Threads per kernel call (the machine the figures come from has 2 cores). */
    @Param("2")
    public int threads;

    private CpuReference kernels;

    /** Starts the kernels' worker threads. */
    @Setup(Level.Trial)
    public void startKernels() {
        kernels = new CpuReference(threads);
    }

    /** Stops the kernels' worker threads. */
    @TearDown(Level.Trial)
    public void stopKernels() {
        kernels.close();
    }

    /** Square SGEMM operands, filled once per trial from a fixed seed. */
    @State(Scope.Benchmark)
    public static class Gemm {
        /** Matrix order: A, B and C are n×n. */
        @Param({"512", "1024", "2048"})
        public int n;

        float[] a;
        float[] b;
        float[] c;

        /** Fills A and B with uniform values in [-1, 1). */
        @Setup(Level.Trial)
        public void fill() {
            SplittableRandom rnd = new SplittableRandom(SEED);
            a = random(rnd, n * n);
            b = random(rnd, n * n);
            c = new float[n * n];
        }
    }

    /** SAXPY and reduction vectors, filled once per trial from a fixed seed. */
    @State(Scope.Benchmark)
    public static class Vectors {
        float[] x;
        float[] y;
        float[] out;

        /** Fills x and y with uniform values in [-1, 1). */
        @Setup(Level.Trial)
        public void fill() {
            SplittableRandom rnd = new SplittableRandom(SEED + 1);
            x = random(rnd, VECTOR_LENGTH);
            y = random(rnd, VECTOR_LENGTH);
            out = new float[VECTOR_LENGTH];
        }
    }

    /**
     * C = A·B, n×n×n.
     *
     * @param g operands
     * @return C, so that the call is not eliminated
     */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public float[] sgemm(Gemm g) {
        kernels.sgemm(g.n, g.n, g.n, g.a, g.b, g.c);
        return g.c;
    }

    /**
     * out = 2·x + y over 16 Mi floats.
     *
     * @param v vectors
     * @return out
     */
    @Benchmark
    public float[] saxpy(Vectors v) {
        kernels.saxpy(VECTOR_LENGTH, 2.0f, v.x, v.y, v.out);
        return v.out;
    }

    /**
     * Baseline: the same SAXPY as one plain loop on the benchmark thread.
     *
     * @param v vectors
     * @return out
     */
    @Benchmark
    public float[] saxpyPlainLoop(Vectors v) {
        float[] x = v.x;
        float[] y = v.y;
        float[] out = v.out;
        for (int i = 0; i < VECTOR_LENGTH; i++) {
            out[i] = 2.0f * x[i] + y[i];
        }
        return out;
    }

    /**
     * Sum of 16 Mi floats, accumulated in double.
     *
     * @param v vectors
     * @return the sum
     */
    @Benchmark
    public float reduceSum(Vectors v) {
        return kernels.reduceSum(VECTOR_LENGTH, v.x);
    }

    /**
     * Baseline: one sequential double accumulator on the benchmark thread.
     *
     * @param v vectors
     * @return the sum
     */
    @Benchmark
    public float reduceSumPlainLoop(Vectors v) {
        float[] x = v.x;
        double s = 0;
        for (int i = 0; i < VECTOR_LENGTH; i++) {
            s += x[i];
        }
        return (float) s;
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }
}
