package dev.depin.cuda.internal;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceGetUuid;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor;

import dev.depin.crypto.Sha256;
import dev.depin.cuda.DeviceException;
import dev.depin.executor.spi.ExecutionFailedException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUuuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One CUDA device's primary context and the built-in kernel module, shared by every
 * executor on that device in this JVM: created on first use, reference-counted, released
 * when the last user lets go. Thread-safe; each driver call first makes the context current
 * on the calling thread ({@link #enter()}).
 */
public final class DeviceContext implements AutoCloseable {
    /** System property: bytes of freed device blocks kept for reuse (default: 1/8 of the device's memory). */
    public static final String POOL_PROPERTY = "depin.cuda.poolBytes";
    /** System property: bytes of freed pinned host blocks kept for reuse (default 1 GiB). */
    public static final String PINNED_POOL_PROPERTY = "depin.cuda.pinnedPoolBytes";
    private static final Logger LOG = LoggerFactory.getLogger(DeviceContext.class);
    private static final Map<Integer, DeviceContext> OPEN = new HashMap<>();

    private final int index;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final String moduleSource;
    private final AtomicLong liveDeviceBytes = new AtomicLong();
    private final AtomicLong livePinnedBytes = new AtomicLong();
    private final BlockPool<CUdeviceptr> devicePool;
    private final BlockPool<Pointer> pinnedPool;
    private final int sms;
    private final Map<String, Integer> resident = new java.util.concurrent.ConcurrentHashMap<>();
    private int users;

    private DeviceContext(int index) {
        this.index = index;
        Driver.call("cuDeviceGet(" + index + ")", () -> cuDeviceGet(device, index));
        Driver.call("cuDevicePrimaryCtxRetain(device " + index + ")", () -> cuDevicePrimaryCtxRetain(context, device));
        long[] total = new long[1];
        Driver.call("cuDeviceTotalMem(device " + index + ")", () -> cuDeviceTotalMem(total, device));
        this.sms = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "SM count");
        devicePool = new BlockPool<>(bytes -> {
            CUdeviceptr p = new CUdeviceptr();
            Driver.call("cuMemAlloc(" + bytes + " bytes)", () -> cuMemAlloc(p, bytes));
            return p;
        }, p -> quietly("cuMemFree", cuMemFree(p)), Long.getLong(POOL_PROPERTY, total[0] / 8));
        pinnedPool = new BlockPool<>(bytes -> {
            Pointer p = new Pointer();
            Driver.call("cuMemAllocHost(" + bytes + " bytes)", () -> cuMemAllocHost(p, bytes));
            return p;
        }, p -> quietly("cuMemFreeHost", cuMemFreeHost(p)), Long.getLong(PINNED_POOL_PROPERTY, 1L << 30));
        try {
            enter();
            String loaded;
            try {
                byte[] fatbin = KernelArtefacts.load(KernelArtefacts.FATBIN);
                Driver.call("cuModuleLoadData(" + KernelArtefacts.FATBIN + ")", () -> cuModuleLoadData(module, fatbin));
                loaded = KernelArtefacts.FATBIN;
            } catch (DeviceException e) {
                // No SASS for this card (newer than sm_90): let the driver JIT the PTX.
                LOG.debug("fatbin does not load on device {} ({}); JIT-compiling the PTX", index, e.getMessage());
                byte[] ptx = KernelArtefacts.load(KernelArtefacts.PTX);
                Driver.call("cuModuleLoadData(" + KernelArtefacts.PTX + ")", () -> cuModuleLoadData(module, ptx));
                loaded = KernelArtefacts.PTX;
            }
            moduleSource = loaded;
            for (String entry : CudaKernel.moduleEntries()) {
                CUfunction f = new CUfunction();
                Driver.call("cuModuleGetFunction(" + entry + ")", () -> cuModuleGetFunction(f, module, entry));
                functions.put(entry, f);
            }
        } catch (RuntimeException e) {
            cuDevicePrimaryCtxRelease(device);
            throw e;
        }
    }

    /**
     * The shared context of a device, created on first use; the caller {@link #close()}s it once.
     *
     * @param index the device's ordinal
     * @return the context, with one more user
     * @throws DeviceException if the device cannot be opened
     */
    public static DeviceContext acquire(int index) {
        synchronized (OPEN) {
            DeviceContext c = OPEN.get(index);
            if (c == null) {
                c = new DeviceContext(index);
                OPEN.put(index, c);
            }
            c.users++;
            return c;
        }
    }

    /** Makes this context current on the calling thread. */
    public void enter() {
        Driver.call("cuCtxSetCurrent(device " + index + ")", () -> cuCtxSetCurrent(context));
    }

    /**
     * A built-in kernel.
     *
     * @param entry one of {@link CudaKernel#moduleEntries()}
     * @return its function handle
     */
    public CUfunction function(String entry) {
        CUfunction f = functions.get(entry);
        if (f == null) {
            throw new ExecutionFailedException("no CUDA kernel '" + entry + "' in the module");
        }
        return f;
    }

    /**
     * The grid of a grid-stride kernel: as many blocks as the device holds at once (SMs times
     * the blocks of {@code block} threads one SM keeps resident, from the occupancy
     * calculator), or fewer when there is less work. One wave, so no SM waits on a straggler
     * wave, and few enough blocks that per-block work (an atomic pair) stays negligible.
     *
     * @param entry a built-in entry
     * @param block threads per block
     * @param items work items, one per thread per pass (0 is treated as 1)
     * @return the number of blocks, &ge; 1
     */
    public int residentGrid(String entry, int block, long items) {
        int perSm = resident.computeIfAbsent(entry + "/" + block, key -> {
            int[] n = new int[1];
            CUfunction f = function(entry);
            Driver.call("cuOccupancyMaxActiveBlocksPerMultiprocessor(" + entry + ")",
                    () -> cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, block, 0));
            return Math.max(1, n[0]);
        });
        long needed = Math.max(1, (items + block - 1) / block);
        return (int) Math.min(needed, (long) sms * perSm);
    }

    /** @return the device's multiprocessor count */
    public int sms() {
        return sms;
    }

    private static void quietly(String call, int result) {
        if (result != 0) {
            LOG.warn("{} failed: {}", call, Driver.name(result));
        }
    }

    /** @return device memory blocks, reused across jobs; call with this context current */
    public BlockPool<CUdeviceptr> devicePool() {
        return devicePool;
    }

    /** @return pinned host memory blocks, reused across jobs; call with this context current */
    public BlockPool<Pointer> pinnedPool() {
        return pinnedPool;
    }

    /** @return the device's ordinal */
    public int index() {
        return index;
    }

    /** @return which artefact the module was loaded from (fatbin, or PTX through the JIT) */
    public String moduleSource() {
        return moduleSource;
    }

    /** @return bytes of device memory currently allocated by jobs on this device */
    public AtomicLong liveDeviceBytes() {
        return liveDeviceBytes;
    }

    /** @return bytes of pinned host memory currently allocated by jobs on this device */
    public AtomicLong livePinnedBytes() {
        return livePinnedBytes;
    }

    /**
     * Free and total device memory as the driver reports them.
     *
     * @return {free, total} in bytes
     */
    public long[] memoryInfo() {
        enter();
        long[] free = new long[1];
        long[] total = new long[1];
        Driver.call("cuMemGetInfo", () -> cuMemGetInfo(free, total));
        return new long[] {free[0], total[0]};
    }

    /** What discovery finds out about a device. */
    public record Description(String name, long memoryBytes, int ccMajor, int ccMinor, int sms, String uuidHash,
                              String driverVersion, String cudaVersion) {
    }

    /**
     * Reads a device's name, memory, compute capability, SM count, UUID hash and the driver's
     * versions. Needs {@code cuInit} (the probe in {@link dev.depin.cuda.Cuda} calls it).
     *
     * @param index the device's ordinal
     * @return the description
     * @throws DeviceException if a driver call fails
     */
    public static Description describe(int index) {
        CUdevice d = new CUdevice();
        Driver.call("cuDeviceGet(" + index + ")", () -> cuDeviceGet(d, index));
        byte[] name = new byte[256];
        Driver.call("cuDeviceGetName", () -> cuDeviceGetName(name, name.length, d));
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++;
        }
        long[] mem = new long[1];
        Driver.call("cuDeviceTotalMem", () -> cuDeviceTotalMem(mem, d));
        int major = attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "cc major");
        int minor = attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "cc minor");
        int sms = attribute(d, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "SM count");
        CUuuid uuid = new CUuuid();
        Driver.call("cuDeviceGetUuid", () -> cuDeviceGetUuid(uuid, d));
        int[] v = new int[1];
        Driver.call("cuDriverGetVersion", () -> cuDriverGetVersion(v));
        String cuda = (v[0] / 1000) + "." + (v[0] % 1000 / 10);
        return new Description(new String(name, 0, len, StandardCharsets.US_ASCII).trim(), mem[0], major, minor, sms,
                Sha256.hex(uuid.bytes), nvidiaDriverVersion().orElse("CUDA " + cuda + " driver"), "CUDA " + cuda);
    }

    private static int attribute(CUdevice d, int attribute, String what) {
        int[] v = new int[1];
        Driver.call("cuDeviceGetAttribute(" + what + ")", () -> cuDeviceGetAttribute(v, attribute, d));
        return v[0];
    }

    /** The kernel module's version from {@code /proc/driver/nvidia/version} (e.g. 580.65.06), where Linux has it. */
    static java.util.Optional<String> nvidiaDriverVersion() {
        try {
            Path p = Path.of("/proc/driver/nvidia/version");
            if (!Files.isReadable(p)) {
                return java.util.Optional.empty();
            }
            return parseDriverVersion(Files.readString(p));
        } catch (java.io.IOException | RuntimeException e) {
            return java.util.Optional.empty();
        }
    }

    /**
     * @param procVersion the text of {@code /proc/driver/nvidia/version}
     * @return the driver version it names, e.g. {@code 580.65.06}
     */
    static java.util.Optional<String> parseDriverVersion(String procVersion) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("Kernel Module(?: for \\S+)?\\s+([0-9]+(?:\\.[0-9]+)+)")
                .matcher(procVersion);
        return m.find() ? java.util.Optional.of(m.group(1)) : java.util.Optional.empty();
    }

    /** Lets go of one use; the last one unloads the module and releases the primary context. */
    @Override
    public void close() {
        synchronized (OPEN) {
            if (users == 0 || --users > 0) {
                return;
            }
            OPEN.remove(index);
        }
        try {
            enter();
            devicePool.drain();
            pinnedPool.drain();
            Driver.call("cuModuleUnload", () -> cuModuleUnload(module));
        } catch (RuntimeException e) {
            LOG.warn("unloading the CUDA module on device {} failed: {}", index, e.getMessage());
        } finally {
            int r = cuDevicePrimaryCtxRelease(device);
            if (r != 0) {
                LOG.warn("cuDevicePrimaryCtxRelease(device {}) failed: {}", index, Driver.name(r));
            }
        }
    }
}
