package dev.depin.benchmarks.executor;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.kernel.CpuReference;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-core SGEMM ({@link CpuReference#sgemm} on one thread) with the JVM's default instruction
 * set ({@code UseAVX=3} on an AVX-512 host); {@link SgemmIsaAvx2Benchmark} is the same benchmark
 * in a fork with {@code -XX:UseAVX=2}. {@code impl} picks the Vector API implementation or the
 * plain-Java one ({@code -Ddepin.cpu.vectorApi=false} in a separate CpuReference; both compute
 * the same bits).
 *
 * <p>The score is wall time per call, but this machine is shared, so each iteration also prints
 * the calling thread's CPU time per call as {@code SGEMM-CPU ... gflop_per_cpu_s=...}: GFLOP per
 * CPU-second, the per-core figure that {@code depin-benchmarks/scripts/sgemm-isa.sh} compares with
 * OpenBLAS's (numpy's, single-threaded, its AVX-512 and its AVX2 kernel) in the same run.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 1, timeUnit = TimeUnit.SECONDS)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SgemmIsaBenchmark extends BenchmarkBase {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    /** Matrix order: A, B and C are n×n. */
    @Param({"512", "1024", "2048"})
    public int n;

    /** {@code vector} (the default where the module is resolved) or {@code scalar}. */
    @Param({"vector", "scalar"})
    public String impl;

    private CpuReference kernels;
    private float[] a;
    private float[] b;
    private float[] c;
    private long calls;
    private long cpuStart;
    private int iteration;

    /** One-thread kernels of the requested implementation and operands from a fixed seed. */
    @Setup(Level.Trial)
    public void setUp() {
        if ("scalar".equals(impl)) {
            System.setProperty("depin.cpu.vectorApi", "false");
        }
        kernels = new CpuReference(1);
        System.clearProperty("depin.cpu.vectorApi");
        String got = kernels.sgemmImplementation();
        if (!got.startsWith("vector".equals(impl) ? "vector-api" : "scalar")) {
            throw new IllegalStateException("asked for " + impl + " but CpuReference runs " + got);
        }
        SplittableRandom r = new SplittableRandom(SEED);
        a = new float[n * n];
        b = new float[n * n];
        c = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
            b[i] = (float) (r.nextDouble() * 2 - 1);
        }
    }

    /** Starts counting this iteration's calls and CPU time (runs on the benchmark thread). */
    @Setup(Level.Iteration)
    public void startIteration() {
        calls = 0;
        cpuStart = MX.getCurrentThreadCpuTime();
    }

    /** Prints this iteration's GFLOP per CPU-second of the benchmark thread. */
    @TearDown(Level.Iteration)
    public void endIteration() {
        long cpu = MX.getCurrentThreadCpuTime() - cpuStart;
        iteration++;
        System.out.printf("%nSGEMM-CPU avx=%s impl=%s n=%d iteration=%d calls=%d gflop_per_cpu_s=%.1f (%s)%n",
                avx(), impl, n, iteration, calls, 2.0 * n * n * n * calls / cpu, kernels.sgemmImplementation());
    }

    /** Stops the kernels. */
    @TearDown(Level.Trial)
    public void tearDown() {
        kernels.close();
    }

    /** @return C = A·B on one thread */
    @Benchmark
    public float[] sgemm() {
        kernels.sgemm(n, n, n, a, b, c);
        calls++;
        return c;
    }

    private static String avx() {
        return ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                .getVMOption("UseAVX").getValue();
    }
}
