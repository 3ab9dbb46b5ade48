package dev.depin.executor;

import dev.depin.InvalidArgumentException;
import dev.depin.executor.internal.CpuKernels;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.executor.spi.ExecutionOutput;
import dev.depin.executor.spi.Executor;
import dev.depin.executor.spi.JobWorkspace;
import dev.depin.crypto.Sha256;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.ShapeMismatchException;
import dev.depin.kernel.UnsupportedKernelException;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The reference executor: runs the built-in kernels on CPU cores, always present, and
 * the semantics every other executor is tested against.
 *
 * <p>Numerics: SGEMM accumulates each element in float32; SAXPY computes
 * {@code alpha*x + y} with two roundings (no fused multiply-add); reduce-sum accumulates
 * in float64 over fixed blocks in index order, so its result does not depend on the
 * thread count. See {@link CpuKernels} for the exact orders and error bounds.
 *
 * <p>User PTX kernels are rejected with {@link UnsupportedKernelException}.
 *
 * <pre>{@code
 * try (CpuExecutor cpu = new CpuExecutor(Runtime.getRuntime().availableProcessors())) {
 *     ExecutionOutput out = cpu.execute(BuiltinKernel.SGEMM, params, inputs, new JobWorkspace());
 * }
 * }</pre>
 */
public final class CpuExecutor implements Executor {
    private static final java.util.concurrent.ConcurrentHashMap<Integer, Double> RATES =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final CpuKernels kernels;
    private final DeviceInfo device;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Starts a CPU executor with {@code threads} worker threads and measures its
     * sustained SGEMM rate (a few milliseconds) for its {@link DeviceInfo}.
     *
     * @param threads worker threads, 1 to 1024
     * @throws InvalidArgumentException if {@code threads} is out of range
     */
    public CpuExecutor(int threads) {
        if (threads < 1 || threads > 1024) {
            throw new InvalidArgumentException("CPU executor threads is " + threads + ": give 1 to 1024");
        }
        this.kernels = new CpuKernels(threads);
        String model = cpuModel();
        this.device = new DeviceInfo(DeviceKind.CPU, model, Runtime.getRuntime().maxMemory(), "-", threads,
                calibrate(kernels), Sha256.hex((hostName() + "|" + model).getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public String kind() {
        return "cpu";
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    @Override
    public boolean supports(Kernel kernel) {
        return kernel instanceof BuiltinKernel;
    }

    @Override
    public ExecutionOutput execute(Kernel kernel, LaunchParams params, Map<String, ByteBuffer> inputs,
                                   JobWorkspace workspace) {
        InvalidArgumentException.requireNonNull(kernel, "kernel");
        InvalidArgumentException.requireNonNull(params, "launch parameters");
        InvalidArgumentException.requireNonNull(inputs, "inputs");
        InvalidArgumentException.requireNonNull(workspace, "workspace");
        if (!(kernel instanceof BuiltinKernel builtin)) {
            throw new UnsupportedKernelException("the CPU executor runs built-in kernels only, not " + kernel.id()
                    + ": send user PTX to a provider whose offer lists the 'ptx' kernel (a CUDA executor)");
        }
        if (closed.get()) {
            throw new ExecutionFailedException("this CPU executor is closed: create a new one");
        }
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        Map<String, ByteBuffer> out = new LinkedHashMap<>();
        try {
            switch (builtin) {
                case SAXPY -> {
                    int n = (int) params.requireLong("n");
                    float[] x = load(workspace, inputs, "x", n);
                    float[] y = load(workspace, inputs, "y", n);
                    kernels.saxpy(n, params.requireFloat("alpha"), x, y, y);
                    out.put("out", store(workspace, "out", y, n));
                }
                case SGEMM -> {
                    int m = (int) params.requireLong("m");
                    int k = (int) params.requireLong("k");
                    int n = (int) params.requireLong("n");
                    float[] a = load(workspace, inputs, "a", m * k);
                    float[] b = load(workspace, inputs, "b", k * n);
                    float[] c = workspace.floats("scratch:c", m * n);
                    kernels.sgemm(m, k, n, a, b, c);
                    out.put("c", store(workspace, "c", c, m * n));
                }
                case REDUCE_SUM -> {
                    int n = (int) params.requireLong("n");
                    float[] x = load(workspace, inputs, "x", n);
                    ByteBuffer sum = workspace.bytes("sum", Float.BYTES);
                    sum.putFloat(0, kernels.reduceSum(n, x));
                    out.put("sum", sum);
                }
            }
        } catch (IllegalStateException e) {
            throw new ExecutionFailedException("the CPU executor stopped during " + kernel.id()
                    + " (" + e.getMessage() + "): retry on another executor", e);
        }
        long nanos = System.nanoTime() - t0;
        return new ExecutionOutput(out, start, Instant.now(), nanos);
    }

    private static float[] load(JobWorkspace ws, Map<String, ByteBuffer> inputs, String name, int count) {
        ByteBuffer buf = inputs.get(name);
        if (buf == null || buf.remaining() != (long) count * Float.BYTES) {
            throw new ShapeMismatchException("input '" + name + "' must have " + (long) count * Float.BYTES
                    + " bytes, got " + (buf == null ? "none" : buf.remaining()));
        }
        float[] a = ws.floats(name, count);
        buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a);
        return a;
    }

    private static ByteBuffer store(JobWorkspace ws, String name, float[] values, int count) {
        ByteBuffer buf = ws.bytes(name, count * Float.BYTES);
        buf.asFloatBuffer().put(values, 0, count);
        return buf;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            kernels.close();
        }
    }

    @Override
    public String toString() {
        return "CpuExecutor[" + device.model() + ", " + device.units() + " threads, "
                + String.format("%.1f", device.fp32Gflops()) + " GFLOP/s]";
    }

    /**
     * The sustained SGEMM rate for a thread count, measured once per JVM and shared by
     * every CPU executor with that many threads (they run on the same cores). A 192³
     * product is repeated until the best time has not improved for 20 runs, at most
     * 1.5 s: the first runs execute interpreted code, so a short fixed window would
     * measure the JIT, not the hardware, and rank identical providers apart.
     */
    private static double calibrate(CpuKernels kernels) {
        return RATES.computeIfAbsent(kernels.threads(), t -> measure(kernels));
    }

    private static double measure(CpuKernels kernels) {
        int n = 192;
        SplittableRandom rnd = new SplittableRandom(1);
        float[] a = new float[n * n];
        float[] b = new float[n * n];
        float[] c = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextDouble();
            b[i] = (float) rnd.nextDouble();
        }
        long best = Long.MAX_VALUE;
        long until = System.nanoTime() + 1_500_000_000L;
        for (int sinceBest = 0; sinceBest < 20 && System.nanoTime() < until; sinceBest++) {
            long t = System.nanoTime();
            kernels.sgemm(n, n, n, a, b, c);
            long took = Math.max(1, System.nanoTime() - t);
            if (took < best * 0.98) {
                sinceBest = 0;
            }
            best = Math.min(best, took);
        }
        return 2.0 * n * n * n / best;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    String m = line.substring(line.indexOf(':') + 1).trim().replaceAll("[^\\x20-\\x7e]", "");
                    return m.length() > 128 ? m.substring(0, 128) : m;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or not readable: fall back to what the JVM knows.
        }
        return "CPU " + System.getProperty("os.arch", "unknown");
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
