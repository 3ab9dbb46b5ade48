package dev.depin.executor;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.executor.spi.ExecutionTiming;
import dev.depin.executor.spi.HostArena;
import dev.depin.crypto.Sha256;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.CpuReference;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.KernelReference;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.ReferenceClosedException;
import dev.depin.kernel.UnsupportedKernelException;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The reference executor: runs the built-in kernels on CPU cores, always present, and
 * the semantics every other executor is tested against.
 *
 * <p>Numerics: SGEMM accumulates each element in float32; SAXPY computes
 * {@code alpha*x + y} with two roundings (no fused multiply-add); reduce-sum accumulates
 * in float64 over fixed blocks in index order, so its result does not depend on the
 * thread count. See {@link CpuReference} for the exact orders and error bounds.
 *
 * <p>User PTX kernels are rejected with {@link UnsupportedKernelException}.
 *
 * <pre>{@code
 * try (CpuExecutor cpu = new CpuExecutor(Runtime.getRuntime().availableProcessors());
 *      ExecutionContext ctx = cpu.open(BuiltinKernel.SGEMM, params)) {
 *     ctx.input("a").put(a);
 *     ctx.input("b").put(b);
 *     ctx.run();
 *     ByteBuffer c = ctx.output("c");
 * }
 * }</pre>
 */
public final class CpuExecutor implements DeviceExecutor {
    private static final java.util.concurrent.ConcurrentHashMap<Integer, Double> RATES =
            new java.util.concurrent.ConcurrentHashMap<>();
    private static final Set<String> KERNELS = BuiltinKernel.ids();

    private final CpuReference reference;
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
        this.reference = new CpuReference(threads);
        String model = cpuModel();
        this.device = new DeviceInfo(DeviceKind.CPU, model, Runtime.getRuntime().maxMemory(), "-", threads,
                calibrate(reference), Sha256.hex((hostName() + "|" + model).getBytes(StandardCharsets.UTF_8)),
                "-", "Java " + Runtime.version());
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
    public Set<String> kernels() {
        return KERNELS;
    }

    @Override
    public boolean runsUserPtx() {
        return false;
    }

    @Override
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        InvalidArgumentException.requireNonNull(kernel, "kernel");
        InvalidArgumentException.requireNonNull(params, "launch parameters");
        if (!(kernel instanceof BuiltinKernel builtin)) {
            throw new UnsupportedKernelException("the CPU executor runs built-in kernels only, not " + kernel.id()
                    + ": send user PTX to a provider whose offer lists the 'ptx' kernel (a CUDA executor)");
        }
        if (closed.get()) {
            throw new ExecutionFailedException("this CPU executor is closed: create a new one");
        }
        return new CpuContext(builtin, params);
    }

    /** One job on the CPU: heap buffers in a {@link HostArena}, one launch. */
    private final class CpuContext implements ExecutionContext {
        private final BuiltinKernel kernel;
        private final LaunchParams params;
        private final HostArena arena = new HostArena();
        private final Map<String, ByteBuffer> inputs = new LinkedHashMap<>();
        private final Map<String, ByteBuffer> outputs = new LinkedHashMap<>();
        private final List<BufferDecl> outputDecls;
        private final AtomicBoolean cancelled = new AtomicBoolean();
        private volatile ExecutionTiming timing;
        private boolean started;

        CpuContext(BuiltinKernel kernel, LaunchParams params) {
            this.kernel = kernel;
            this.params = params;
            List<BufferDecl> in = kernel.inputs(params);
            this.outputDecls = kernel.outputs(params);
            for (BufferDecl d : in) {
                inputs.put(d.name(), arena.buffer(d.name(), d.bytes(), false));
            }
        }

        @Override
        public ByteBuffer input(String name) {
            ByteBuffer b = inputs.get(name);
            if (b == null) {
                throw new InvalidArgumentException("kernel " + kernel.id() + " has no input '" + name + "': it reads "
                        + inputs.keySet());
            }
            return b.duplicate().clear().order(b.order());
        }

        @Override
        public void run() {
            if (started) {
                throw new ExecutionFailedException("this execution context already ran: open a new one per job");
            }
            started = true;
            checkCancelled();
            Instant start = Instant.now();
            long t0 = System.nanoTime();
            for (BufferDecl d : outputDecls) {
                outputs.put(d.name(), arena.buffer(d.name(), d.bytes(), false));
            }
            Map<String, ByteBuffer> in = new LinkedHashMap<>();
            inputs.forEach((k, v) -> in.put(k, v.asReadOnlyBuffer().clear().order(v.order())));
            Map<String, ByteBuffer> out = new LinkedHashMap<>();
            outputs.forEach((k, v) -> out.put(k, v.duplicate().clear().order(v.order())));
            KernelReference ref = kernel.reference().orElseThrow();
            try {
                ref.run(reference, params, in, out, arena);
            } catch (ReferenceClosedException e) {
                throw new ExecutionFailedException("the CPU executor was closed during " + kernel.id()
                        + ": retry on another executor", e);
            }
            checkCancelled();
            long nanos = System.nanoTime() - t0;
            timing = new ExecutionTiming(start, Instant.now(), nanos);
        }

        private void checkCancelled() {
            if (cancelled.get()) {
                throw new ExecutionCancelledException(kernel.id() + " on the CPU was cancelled");
            }
        }

        @Override
        public ByteBuffer output(String name) {
            requireRan();
            ByteBuffer b = outputs.get(name);
            if (b == null) {
                throw new InvalidArgumentException("kernel " + kernel.id() + " has no output '" + name
                        + "': it writes " + outputDecls.stream().map(BufferDecl::name).toList());
            }
            return b.asReadOnlyBuffer().clear().order(b.order());
        }

        @Override
        public ExecutionTiming timing() {
            requireRan();
            return timing;
        }

        private void requireRan() {
            if (timing == null) {
                throw new ExecutionFailedException("kernel " + kernel.id() + " has not run in this context: call run()");
            }
        }

        @Override
        public void cancel() {
            cancelled.set(true);
        }

        @Override
        public boolean isCancelled() {
            return cancelled.get();
        }

        @Override
        public List<Allocation> allocations() {
            return arena.allocations();
        }

        @Override
        public List<WipeRecord> wipe(byte pattern) {
            return arena.wipe(pattern);
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            reference.close();
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
    private static double calibrate(CpuReference kernels) {
        return RATES.computeIfAbsent(kernels.threads(), t -> measure(kernels));
    }

    private static double measure(CpuReference kernels) {
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
