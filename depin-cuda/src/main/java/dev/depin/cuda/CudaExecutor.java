package dev.depin.cuda;

import dev.depin.InvalidArgumentException;
import dev.depin.cuda.internal.CudaJob;
import dev.depin.cuda.internal.CudaKernel;
import dev.depin.cuda.internal.DeviceContext;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.UnsupportedKernelException;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs the built-in kernels and user PTX on one CUDA device through JCuda's driver API.
 *
 * <p>The device's primary context and the kernel module (the committed fatbin with SASS for
 * sm_80, sm_86, sm_89 and sm_90, or the PTX JIT-compiled by drivers &ge; 580 on other cards)
 * are shared by every executor on that device in the JVM and released with the last one.
 * Each job gets its own stream, events for device time, pinned host buffers the caller
 * fills directly, and device buffers, taken from pools of freed blocks that only return to
 * the pool once every byte the job used was overwritten; {@link ExecutionContext#wipe} fills every device
 * buffer and verifies it with a reduction on the device, and
 * {@link ExecutionContext#outputRoot} computes an output's RFC 6962 Merkle root on the
 * device. Every driver error becomes a {@link DeviceException} naming the call.
 *
 * <p>Numerics, bit for bit (docs/decisions.md, "Bit-reproducible kernels"): SGEMM computes each
 * element as {@code acc = fma(a[i][p], b[p][j], acc)} for {@code p = 0..k-1} from {@code +0.0f};
 * SAXPY rounds twice ({@code fl(fl(alpha*x) + y)}); reduce-sum adds float64 partials per
 * 4096-element block in the CPU reference's lane order, then the partials in block order.
 *
 * <p>It offers exactly the built-in kernels it has a launch for ({@link CudaKernel}) and user PTX.
 *
 * <pre>{@code
 * if (Cuda.isAvailable()) {
 *     try (CudaExecutor gpu = new CudaExecutor(0);
 *          ExecutionContext ctx = gpu.open(BuiltinKernel.SAXPY, params)) {
 *         ctx.input("x").put(x);
 *         ctx.input("y").put(y);
 *         ctx.run();
 *         byte[] root = ctx.outputRoot("out").orElseThrow();
 *     }
 * }
 * }</pre>
 */
public final class CudaExecutor implements DeviceExecutor {
    /** The built-in kernels this executor has a launch for ({@link CudaKernel}): exactly what it offers. */
    private static final Set<String> KERNELS = CudaKernel.ids();

    private final DeviceContext context;
    private final DeviceInfo device;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Starts an executor on a device: opens (or shares) its context, loads the kernels and
     * measures the device's sustained SGEMM rate for its {@link DeviceInfo}.
     *
     * @param deviceIndex the device's ordinal, from 0
     * @throws InvalidArgumentException if the index is negative or beyond the devices present
     * @throws Cuda.CudaUnavailableException if CUDA is unavailable here (the message says why)
     * @throws DeviceException if the device fails to start
     */
    public CudaExecutor(int deviceIndex) {
        Cuda.ensureAvailability();
        if (deviceIndex < 0 || deviceIndex >= Cuda.deviceCount()) {
            throw new InvalidArgumentException("CUDA device " + deviceIndex + " does not exist: this machine has "
                    + Cuda.deviceCount() + " (indices 0 to " + (Cuda.deviceCount() - 1) + ")");
        }
        DeviceContext.Description d = DeviceContext.describe(deviceIndex);
        this.context = DeviceContext.acquire(deviceIndex);
        try {
            double gflops = calibrate();
            this.device = new DeviceInfo(DeviceKind.CUDA, d.name().isEmpty() ? "CUDA device " + deviceIndex : d.name(),
                    d.memoryBytes(), d.ccMajor() + "." + d.ccMinor(), d.sms(), gflops, d.uuidHash(),
                    d.driverVersion(), d.cudaVersion() + " (JCuda 12.6.0, " + context.moduleSource() + ")");
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    /** SGEMM 2048^3 a few times on the device; the best time gives the sustained FP32 rate. */
    private double calibrate() {
        int n = 2048;
        LaunchParams p = LaunchParams.builder().put("m", n).put("k", n).put("n", n).build();
        long best = Long.MAX_VALUE;
        try (ExecutionContext ctx = new CudaJob(context, BuiltinKernel.SGEMM, p)) {
            fill(ctx.input("a"));
            fill(ctx.input("b"));
            ctx.run();
            best = ctx.timing().deviceNanos();
        }
        for (int i = 0; i < 2; i++) {
            try (ExecutionContext ctx = new CudaJob(context, BuiltinKernel.SGEMM, p)) {
                ctx.run();
                best = Math.min(best, ctx.timing().deviceNanos());
            }
        }
        return 2.0 * n * n * n / Math.max(1, best);
    }

    private static void fill(ByteBuffer b) {
        for (int i = 0; b.remaining() >= 4; i++) {
            b.putFloat((i % 17) * 0.0625f);
        }
    }

    @Override
    public String kind() {
        return "cuda";
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    @Override
    public Set<String> kernels() {
        return builtinKernels();
    }

    /**
     * The built-in kernels a CUDA executor runs, which are exactly those it has a launch for,
     * whether or not a device is present here: what a GPU node offers besides user PTX.
     *
     * @return their ids, sorted, unmodifiable
     */
    public static Set<String> builtinKernels() {
        return KERNELS;
    }

    @Override
    public boolean runsUserPtx() {
        return true;
    }

    /**
     * Bytes of device memory that open jobs on this device hold right now (all executors on
     * the device together); back to its starting level when every job is closed.
     *
     * @return live device bytes
     */
    public long liveDeviceBytes() {
        return context.liveDeviceBytes().get();
    }

    /**
     * Bytes of pinned host memory that open jobs on this device hold right now.
     *
     * @return live pinned bytes
     */
    public long livePinnedBytes() {
        return context.livePinnedBytes().get();
    }

    /**
     * Bytes of device memory that finished jobs left in the reuse pool (at most
     * {@code -Ddepin.cuda.poolBytes}, by default 1/8 of the device's memory).
     *
     * @return pooled device bytes
     */
    public long pooledDeviceBytes() {
        return context.devicePool().cachedBytes();
    }

    /**
     * Free device memory as the driver reports it (all processes).
     *
     * @return free bytes
     */
    public long freeDeviceBytes() {
        return context.memoryInfo()[0];
    }

    @Override
    public ExecutionContext open(Kernel kernel, LaunchParams params) {
        InvalidArgumentException.requireNonNull(kernel, "kernel");
        InvalidArgumentException.requireNonNull(params, "launch parameters");
        if (!supports(kernel)) {
            throw new UnsupportedKernelException("the CUDA executor does not run " + kernel.id() + ": it runs "
                    + KERNELS + " and user PTX");
        }
        if (closed.get()) {
            throw new ExecutionFailedException("this CUDA executor is closed: create a new one");
        }
        return new CudaJob(context, kernel, params);
    }

    /** Lets go of the device context (released with the last executor on the device). Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            context.close();
        }
    }

    @Override
    public String toString() {
        return "CudaExecutor[" + device.model() + ", sm_" + device.computeCapability().replace(".", "") + ", "
                + device.units() + " SMs, " + String.format("%.0f", device.fp32Gflops()) + " GFLOP/s]";
    }
}
