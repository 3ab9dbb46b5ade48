package dev.depin.executor;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.MerkleTree;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.AbstractExecutionContext;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
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
import dev.depin.job.JobSpec;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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

    /**
     * System property {@value}: whether a kernel thread that has no block of an SGEMM left while
     * another still computes hashes the output's leaves already final ({@code true} or
     * {@code false}). By default it does only when the executor's threads leave a core free: on a
     * host whose cores the kernel's threads fill, the "idle" thread would take a core that another
     * thread wants (a buyer's check in the same process, another process) and slow the last
     * block (docs/decisions.md, "The CPU SGEMM's output tree built from its row blocks").
     */
    public static final String HASH_WHILE_IDLE_PROPERTY = "depin.cpu.hashWhileIdle";

    private final CpuReference reference;
    private final DeviceInfo device;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final boolean hashWhileIdle;

    /**
     * Starts a CPU executor with {@code threads} worker threads and measures its
     * sustained SGEMM rate (a few milliseconds) for its {@link DeviceInfo}.
     *
     * @param threads worker threads, 1 to 1024
     * @throws InvalidArgumentException if {@code threads} is out of range
     */
    public CpuExecutor(int threads) {
        this(threads, hashWhileIdle(threads));
    }

    /** As {@link #CpuExecutor(int)}, saying whether idle kernel threads hash final output leaves (tests). */
    CpuExecutor(int threads, boolean hashWhileIdle) {
        this.hashWhileIdle = hashWhileIdle;
        if (threads < 1 || threads > 1024) {
            throw new InvalidArgumentException("CPU executor threads is " + threads + ": give 1 to 1024");
        }
        this.reference = new CpuReference(threads);
        String model = cpuModel();
        this.device = new DeviceInfo(DeviceKind.CPU, model, Runtime.getRuntime().maxMemory(), "-", threads,
                calibrate(reference), Sha256.hex((hostName() + "|" + model).getBytes(StandardCharsets.UTF_8)),
                "-", "Java " + Runtime.version());
    }

    private static boolean hashWhileIdle(int threads) {
        return hashWhileIdle(System.getProperty(HASH_WHILE_IDLE_PROPERTY), threads,
                Runtime.getRuntime().availableProcessors());
    }

    /**
     * @param v the property's value, or null when unset
     * @return whether idle kernel threads hash: {@code v} if given, else whether {@code threads}
     *         leave one of {@code cores} free
     * @throws InvalidArgumentException if {@code v} is neither {@code true} nor {@code false}
     */
    static boolean hashWhileIdle(String v, int threads, int cores) {
        if (v == null) {
            return threads < cores;
        }
        return switch (v.trim()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new InvalidArgumentException("system property " + HASH_WHILE_IDLE_PROPERTY + " is '" + v
                    + "': give true or false, or leave it unset for the default");
        };
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
    private final class CpuContext extends AbstractExecutionContext {
        private final BuiltinKernel builtin;
        private final HostArena arena = new HostArena();
        /** Inputs read in place (a node's cache entries), read-only: never written, wiped or listed here. */
        private final Map<String, ByteBuffer> inPlace = new LinkedHashMap<>();
        /** Each output's tree, its leaves hashed as the kernel finishes their bytes (see {@link #launch}). */
        private final Map<String, MerkleTree.Incremental> trees = new LinkedHashMap<>();
        /** Set by the first wipe: the outputs no longer hold the kernel's bytes, so no tree is finished. */
        private volatile boolean wiped;

        CpuContext(BuiltinKernel kernel, LaunchParams params) {
            super("the CPU", kernel, params);
            this.builtin = kernel;
            // Allocated when first filled, so that an input read in place is never allocated.
            for (BufferDecl d : kernel.inputs(params)) {
                addLazyInput(d.name(), () -> arena.buffer(d.name(), d.bytes(), false));
            }
        }

        @Override
        public boolean readInPlace(String name, ByteBuffer source) {
            InvalidArgumentException.requireNonNull(source, "source of input '" + name + "'");
            BufferDecl decl = builtin.inputs(params()).stream().filter(d -> d.name().equals(name)).findFirst()
                    .orElseThrow(() -> new InvalidArgumentException("kernel " + builtin.id() + " has no input '" + name
                            + "'"));
            if (source.remaining() != decl.bytes()) {
                throw new InvalidArgumentException("input '" + name + "' read in place has " + source.remaining()
                        + " bytes but the kernel declares " + decl.bytes());
            }
            if (!takeInPlace(name)) {
                return false; // already filled: the kernel reads that copy
            }
            // Read-only whatever the caller gave: the kernel cannot write the cache's bytes.
            inPlace.put(name, source.slice().asReadOnlyBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN));
            return true;
        }

        /**
         * Runs the kernel; its device time runs from here to the moment its last output byte was
         * final. The kernel tells which output bytes are final as it finishes them (the SGEMM: per
         * block of rows), and (see {@link #HASH_WHILE_IDLE_PROPERTY}) a kernel thread that runs out
         * of blocks while another still computes hashes the leaves already final, so that little of
         * the outputs' trees is left to hash after the kernel ({@link #outputTree}). That hashing
         * never holds back a block of the kernel (a thread takes it up only when no block is left to
         * claim) and is not in the device time: the time stops at the last block's end, before the
         * threads are handed back.
         */
        @Override
        protected long launch() {
            long t0 = System.nanoTime();
            Map<String, ByteBuffer> in = new LinkedHashMap<>();
            for (BufferDecl d : builtin.inputs(params())) {
                ByteBuffer v = inPlace.get(d.name());
                if (v == null) {
                    v = inputBuffer(d.name());
                }
                in.put(d.name(), v.asReadOnlyBuffer().clear().order(java.nio.ByteOrder.LITTLE_ENDIAN));
            }
            Map<String, ByteBuffer> out = new LinkedHashMap<>();
            for (BufferDecl d : builtin.outputs(params())) {
                ByteBuffer b = arena.buffer(d.name(), d.bytes(), false);
                addOutput(d.name(), b);
                out.put(d.name(), b.duplicate().clear().order(b.order()));
                trees.put(d.name(), MerkleTree.incremental(b.duplicate().clear(), JobSpec.MERKLE_CHUNK_BYTES));
            }
            KernelReference ref = builtin.reference().orElseThrow();
            java.util.concurrent.atomic.AtomicLong lastFinal = new java.util.concurrent.atomic.AtomicLong(t0);
            KernelReference.Progress progress = new KernelReference.Progress() {
                @Override
                public void ready(String output, long from, long to) {
                    long now = System.nanoTime(); // the bytes are final already
                    MerkleTree.Incremental t = trees.get(output);
                    if (t == null) {
                        throw new ExecutionFailedException("kernel " + builtin.id() + " reported bytes of '" + output
                                + "', which is not one of its outputs: executor bug, report it");
                    }
                    t.ready(from, to);
                    lastFinal.accumulateAndGet(now, Math::max);
                }

                @Override
                public void idle(java.util.function.BooleanSupplier computing) {
                    if (!hashWhileIdle) {
                        return; // the thread waits for the last block as before; its leaves are hashed after
                    }
                    for (MerkleTree.Incremental t : trees.values()) {
                        while (computing.getAsBoolean() && t.hashOne()) {
                            // one leaf at a time, so the kernel's end is not held back by more than one
                        }
                    }
                }
            };
            try {
                ref.run(reference, params(), in, out, arena, progress);
            } catch (ReferenceClosedException e) {
                throw new ExecutionFailedException("the CPU executor was closed during " + builtin.id()
                        + ": retry on another executor", e);
            }
            long end = System.nanoTime();
            // A kernel that tells no blocks (SAXPY, reduce-sum) gets no tree here: the caller hashes
            // its outputs as before (outputTree is empty), so small jobs do the same work as before.
            trees.values().removeIf(t -> t.readyBytes() == 0 && t.length() > 0);
            // A kernel that told its blocks ended with its last block (a lent thread may have been
            // hashing a leaf when it did); else when it returned.
            return (trees.isEmpty() ? end : lastFinal.get()) - t0;
        }

        @Override
        public java.util.Optional<MerkleTree> outputTree(String name, dev.depin.crypto.Parallelism parallelism) {
            InvalidArgumentException.requireNonNull(parallelism, "parallelism");
            output(name); // ran, declared, not handed over
            if (wiped) {
                throw new ExecutionFailedException("output '" + name + "' was wiped: ask for its tree before the wipe");
            }
            MerkleTree.Incremental t = trees.get(name);
            if (t == null) {
                return java.util.Optional.empty(); // the kernel told no blocks of it: the caller hashes it
            }
            try {
                return java.util.Optional.of(t.finish(parallelism));
            } catch (IllegalStateException e) {
                throw new ExecutionFailedException("kernel " + builtin.id() + " left output '" + name + "' partly "
                        + "unfinished: " + e.getMessage() + "; executor bug, report it", e);
            }
        }

        @Override
        public java.util.Optional<byte[]> keepOutput(String name) {
            requireRan();
            if (builtin.outputs(params()).stream().noneMatch(d -> d.name().equals(name))) {
                throw new InvalidArgumentException("kernel " + builtin.id() + " has no output '" + name + "'");
            }
            byte[] bytes = arena.release(name);
            if (bytes == null) {
                return java.util.Optional.empty();
            }
            dropOutput(name);
            return java.util.Optional.of(bytes);
        }

        @Override
        public List<Allocation> allocations() {
            return arena.allocations();
        }

        @Override
        public List<WipeRecord> wipe(byte pattern) {
            wiped = true;
            return arena.wipe(pattern);
        }

        @Override
        public List<WipeRecord> wipe(byte pattern, dev.depin.crypto.Parallelism parallelism) {
            wiped = true;
            return arena.wipe(pattern, parallelism);
        }

        @Override
        public void close() {
            wiped = true;
            arena.close();
            inPlace.clear();
            trees.clear();
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
