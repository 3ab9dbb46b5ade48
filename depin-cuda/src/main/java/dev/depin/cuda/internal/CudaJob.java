package dev.depin.cuda.internal;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.ExecutionCancelledException;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.executor.spi.ExecutionTiming;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.PtxKernel;
import dev.depin.kernel.ShapeMismatchException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job on a CUDA device. Owns a stream, two events (device time), a pinned host buffer
 * and a device buffer per input and output, and the scratch the kernels need; frees all of
 * them on {@link #close()}. Inputs are written by the caller straight into pinned memory and
 * copied to the device by {@link #run()}; outputs come back into pinned memory. The wipe
 * fills every device buffer with the pattern and verifies it with a reduction on the device
 * (method {@link WipeRecord#DEVICE_READBACK_REDUCTION}), and every pinned buffer with a host
 * compare. Output Merkle roots are computed on the device, from the device copy.
 */
public final class CudaJob implements ExecutionContext {
    private static final Logger LOG = LoggerFactory.getLogger(CudaJob.class);
    private static final int THREADS = 256;
    /** Nodes one Merkle thread block reduces to one (depin_common.cuh's DEPIN_MERKLE_FANOUT). */
    private static final int MERKLE_FANOUT = 128;
    private static final int MAX_GRID_Y = 65535;

    private final DeviceContext dev;
    private final Kernel kernel;
    private final LaunchParams params;
    private final CUstream stream = new CUstream();
    private final CUevent start = new CUevent();
    private final CUevent end = new CUevent();
    private final CUevent mark0 = new CUevent();
    private final CUevent mark1 = new CUevent();
    private long wipeDeviceNanos;
    private long wipeDeviceBytes;
    private long rootNanos;
    private long rootBytes;
    private final List<Buf> buffers = new ArrayList<>();
    private final Map<String, Buf> hostIn = new LinkedHashMap<>();
    private final Map<String, Buf> devIn = new LinkedHashMap<>();
    private final Map<String, Buf> hostOut = new LinkedHashMap<>();
    private final Map<String, Buf> devOut = new LinkedHashMap<>();
    private final Map<String, byte[]> roots = new HashMap<>();
    private final List<BufferDecl> outputDecls;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final CUdeviceptr check = new CUdeviceptr();
    private CUmodule userModule;
    private CUfunction userFunction;
    private boolean streamCreated;
    private int eventsCreated;
    private boolean checkAllocated;
    private boolean started;
    private boolean wiped;
    private boolean closed;
    private ExecutionTiming timing;

    /** One allocation: pinned host memory or device memory. */
    private static final class Buf {
        final String location;
        final String label;
        final long bytes;
        final CUdeviceptr device;
        final Pointer host;
        final ByteBuffer view;

        Buf(String location, String label, long bytes, CUdeviceptr device, Pointer host, ByteBuffer view) {
            this.location = location;
            this.label = label;
            this.bytes = bytes;
            this.device = device;
            this.host = host;
            this.view = view;
        }
    }

    /**
     * Opens a job: checks the kernel, creates the stream and events, loads user PTX, and
     * allocates every input and output buffer.
     *
     * @param dev    the device's context
     * @param kernel a built-in kernel or user PTX
     * @param params launch parameters
     * @throws ShapeMismatchException if the parameters do not fit the kernel or the device
     * @throws dev.depin.cuda.DeviceException if the device fails or is out of memory
     */
    public CudaJob(DeviceContext dev, Kernel kernel, LaunchParams params) {
        this.dev = dev;
        this.kernel = kernel;
        this.params = params;
        List<BufferDecl> inputs = kernel.inputs(params);
        this.outputDecls = kernel.outputs(params);
        PtxBinding binding = kernel instanceof PtxKernel ptx ? PtxBinding.of(ptx) : null;
        if (kernel == BuiltinKernel.SGEMM) {
            long m = params.requireLong("m");
            if ((m + 127) / 128 > MAX_GRID_Y) {
                throw new ShapeMismatchException("sgemm with m = " + m + " needs more than " + MAX_GRID_Y
                        + " row tiles: split A into row blocks of at most " + (long) MAX_GRID_Y * 128 + " rows");
            }
        }
        try {
            dev.enter();
            Driver.call("cuStreamCreate", () -> cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING));
            streamCreated = true;
            for (CUevent e : new CUevent[] {start, end, mark0, mark1}) {
                Driver.call("cuEventCreate", () -> cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT));
                eventsCreated++;
            }
            Driver.call("cuMemAlloc(16 bytes, wipe check)", () -> cuMemAlloc(check, 16));
            checkAllocated = true;
            if (binding != null) {
                PtxKernel ptx = (PtxKernel) kernel;
                byte[] text = (ptx.ptx() + "\0").getBytes(StandardCharsets.US_ASCII);
                CUmodule m = new CUmodule();
                Driver.call("cuModuleLoadData(user PTX " + ptx.entry() + ")", () -> cuModuleLoadData(m, text));
                userModule = m;
                CUfunction f = new CUfunction();
                Driver.call("cuModuleGetFunction(" + ptx.entry() + ")", () -> cuModuleGetFunction(f, m, ptx.entry()));
                userFunction = f;
            }
            for (BufferDecl d : inputs) {
                hostIn.put(d.name(), pinned(d.name(), d.bytes()));
                devIn.put(d.name(), device(d.name(), d.bytes()));
            }
            for (BufferDecl d : outputDecls) {
                devOut.put(d.name(), device(d.name(), d.bytes()));
                hostOut.put(d.name(), pinned(d.name(), d.bytes()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private Buf pinned(String label, long bytes) {
        Pointer p = dev.pinnedPool().take(bytes);
        ByteBuffer view = p.getByteBuffer(0, bytes).order(ByteOrder.LITTLE_ENDIAN);
        Buf b = new Buf(WipeRecord.HOST, label, bytes, null, p, view);
        buffers.add(b);
        wiped = false;
        dev.livePinnedBytes().addAndGet(bytes);
        zero(view);  // pinned memory is not zeroed: never show a job another's bytes
        return b;
    }

    private static void zero(ByteBuffer view) {
        byte[] zeros = new byte[(int) Math.min(view.capacity(), 1 << 16)];
        ByteBuffer w = view.duplicate().clear();
        while (w.hasRemaining()) {
            w.put(zeros, 0, Math.min(zeros.length, w.remaining()));
        }
    }

    private Buf device(String label, long bytes) {
        CUdeviceptr p = dev.devicePool().take(bytes);
        Buf b = new Buf(WipeRecord.DEVICE, label, bytes, p, null, null);
        buffers.add(b);
        wiped = false;
        dev.liveDeviceBytes().addAndGet(bytes);
        return b;
    }

    @Override
    public ByteBuffer input(String name) {
        Buf b = hostIn.get(name);
        if (b == null) {
            throw new InvalidArgumentException("kernel " + kernel.id() + " has no input '" + name + "': it reads "
                    + hostIn.keySet());
        }
        return b.view.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void run() {
        if (started) {
            throw new ExecutionFailedException("this execution context already ran: open a new one per job");
        }
        started = true;
        checkCancelled();
        Instant startedAt = Instant.now();
        dev.enter();
        for (Map.Entry<String, Buf> e : devIn.entrySet()) {
            Buf h = hostIn.get(e.getKey());
            Driver.call("cuMemcpyHtoDAsync(" + e.getKey() + ")",
                    () -> cuMemcpyHtoDAsync(e.getValue().device, h.host, h.bytes, stream));
        }
        Driver.call("cuEventRecord(start)", () -> cuEventRecord(start, stream));
        checkCancelled();
        double reduceTotal = 0;
        if (kernel == BuiltinKernel.SGEMM) {
            int m = (int) params.requireLong("m");
            int k = (int) params.requireLong("k");
            int n = (int) params.requireLong("n");
            launch("depin_sgemm", (n + 127) / 128, (m + 127) / 128, THREADS, Pointer.to(
                    Pointer.to(devIn.get("a").device), Pointer.to(devIn.get("b").device),
                    Pointer.to(devOut.get("c").device), Pointer.to(new int[] {m}), Pointer.to(new int[] {k}),
                    Pointer.to(new int[] {n})));
        } else if (kernel == BuiltinKernel.SAXPY) {
            long n = params.requireLong("n");
            launch("depin_saxpy", grid(n / 4 + 1), 1, THREADS, Pointer.to(Pointer.to(devIn.get("x").device),
                    Pointer.to(devIn.get("y").device), Pointer.to(devOut.get("out").device),
                    Pointer.to(new float[] {params.requireFloat("alpha")}), Pointer.to(new long[] {n})));
        } else if (kernel == BuiltinKernel.REDUCE_SUM) {
            long n = params.requireLong("n");
            long blocks = (n + 4095) / 4096;
            Buf partials = device("scratch:partials", blocks * Double.BYTES);
            Buf partialsHost = pinned("scratch:partials", blocks * Double.BYTES);
            launch("depin_reduce_partials", (int) ((blocks * 8 + THREADS - 1) / THREADS), 1, THREADS, Pointer.to(
                    Pointer.to(devIn.get("x").device), Pointer.to(new long[] {n}), Pointer.to(partials.device)));
            Driver.call("cuEventRecord(end)", () -> cuEventRecord(end, stream));
            Driver.call("cuMemcpyDtoHAsync(scratch:partials)",
                    () -> cuMemcpyDtoHAsync(partialsHost.host, partials.device, partialsHost.bytes, stream));
            sync();
            // The partials are added in block order, exactly as CpuReference.reduceSum does.
            for (long b = 0; b < blocks; b++) {
                reduceTotal += partialsHost.view.getDouble((int) (b * Double.BYTES));
            }
            Buf sum = hostOut.get("sum");
            sum.view.putFloat(0, (float) reduceTotal);
            Driver.call("cuMemcpyHtoDAsync(sum)", () -> cuMemcpyHtoDAsync(devOut.get("sum").device, sum.host, 4, stream));
        } else {
            PtxKernel ptx = (PtxKernel) kernel;
            int[] g = ptx.geometry(params);
            List<Pointer> args = new ArrayList<>();
            for (PtxKernel.Param p : ptx.params()) {
                switch (p.kind()) {
                    case INPUT -> args.add(Pointer.to(devIn.get(p.name()).device));
                    case OUTPUT -> {
                        Buf o = devOut.get(p.name());
                        Driver.call("cuMemsetD8Async(" + p.name() + ")", () -> cuMemsetD8Async(o.device, (byte) 0,
                                o.bytes, stream));
                        args.add(Pointer.to(o.device));
                    }
                    case I32 -> args.add(Pointer.to(new int[] {(int) params.requireLong(p.name())}));
                    case F32 -> args.add(Pointer.to(new float[] {params.requireFloat(p.name())}));
                }
            }
            Pointer argv = Pointer.to(args.toArray(new Pointer[0]));
            Driver.call("cuLaunchKernel(" + ptx.entry() + ")", () -> cuLaunchKernel(userFunction, g[0], g[1], g[2],
                    g[3], g[4], g[5], 0, stream, argv, null));
        }
        if (kernel != BuiltinKernel.REDUCE_SUM) {
            Driver.call("cuEventRecord(end)", () -> cuEventRecord(end, stream));
        }
        for (Map.Entry<String, Buf> e : devOut.entrySet()) {
            Buf h = hostOut.get(e.getKey());
            if (kernel != BuiltinKernel.REDUCE_SUM) {
                Driver.call("cuMemcpyDtoHAsync(" + e.getKey() + ")",
                        () -> cuMemcpyDtoHAsync(h.host, e.getValue().device, h.bytes, stream));
            }
        }
        sync();
        float[] ms = new float[1];
        Driver.call("cuEventElapsedTime", () -> cuEventElapsedTime(ms, start, end));
        checkCancelled();
        Instant endedAt = Instant.now();
        timing = new ExecutionTiming(startedAt, endedAt.isBefore(startedAt) ? startedAt : endedAt,
                Math.max(0, Math.round(ms[0] * 1e6)));
    }

    private static int grid(long work) {
        return (int) Math.max(1, Math.min(65535, (work + THREADS - 1) / THREADS));
    }

    private void launch(String entry, int gx, int gy, int block, Pointer args) {
        CUfunction f = dev.function(entry);
        Driver.call("cuLaunchKernel(" + entry + ", grid " + gx + "x" + gy + ")",
                () -> cuLaunchKernel(f, gx, gy, 1, block, 1, 1, 0, stream, args, null));
    }

    private void sync() {
        Driver.call("cuStreamSynchronize", () -> cuStreamSynchronize(stream));
    }

    private void checkCancelled() {
        if (cancelled.get()) {
            throw new ExecutionCancelledException(kernel.id() + " on CUDA device " + dev.index() + " was cancelled");
        }
    }

    @Override
    public ByteBuffer output(String name) {
        Buf b = requireOutput(name);
        return hostOut.get(b.label).view.asReadOnlyBuffer().clear().order(ByteOrder.LITTLE_ENDIAN);
    }

    private Buf requireOutput(String name) {
        if (timing == null) {
            throw new ExecutionFailedException("kernel " + kernel.id() + " has not run in this context: call run()");
        }
        Buf b = devOut.get(name);
        if (b == null) {
            throw new InvalidArgumentException("kernel " + kernel.id() + " has no output '" + name + "': it writes "
                    + devOut.keySet());
        }
        return b;
    }

    /**
     * The RFC 6962 root of an output over {@link JobSpec#MERKLE_CHUNK_BYTES}-byte leaves,
     * computed on the device from the device copy.
     */
    @Override
    public Optional<byte[]> outputRoot(String name) {
        Buf out = requireOutput(name);
        byte[] cached = roots.get(name);
        if (cached == null) {
            cached = deviceRoot(out);
            roots.put(name, cached);
        }
        return Optional.of(cached.clone());
    }

    /**
     * The RFC 6962 root of an input as uploaded to the device, computed on the device: what a
     * provider commits to after upload.
     *
     * @param name an input the kernel declares
     * @return the 32-byte root
     * @throws ExecutionFailedException if {@link #run()} has not uploaded the inputs yet
     */
    public byte[] inputRoot(String name) {
        if (!started) {
            throw new ExecutionFailedException("inputs are uploaded by run(): call it first");
        }
        Buf in = devIn.get(name);
        if (in == null) {
            throw new InvalidArgumentException("kernel " + kernel.id() + " has no input '" + name + "': it reads "
                    + devIn.keySet());
        }
        return deviceRoot(in);
    }

    /**
     * Device time and bytes of the Merkle roots computed so far (leaf and level kernels, measured
     * with events).
     *
     * @return {nanoseconds, bytes hashed}
     */
    public long[] rootStats() {
        return new long[] {rootNanos, rootBytes};
    }

    /**
     * Device time and bytes of the last {@link #wipe}'s device part (fill and verify kernels of
     * every device buffer, measured with events).
     *
     * @return {nanoseconds, bytes wiped}
     */
    public long[] deviceWipeStats() {
        return new long[] {wipeDeviceNanos, wipeDeviceBytes};
    }

    private long elapsed(CUevent from, CUevent to) {
        float[] ms = new float[1];
        Driver.call("cuEventElapsedTime", () -> cuEventElapsedTime(ms, from, to));
        return Math.max(0, Math.round(ms[0] * 1e6));
    }

    /**
     * RFC 6962 root of a device buffer over {@link JobSpec#MERKLE_CHUNK_BYTES}-byte leaves:
     * one launch hashes the leaves (a thread each) and reduces each aligned group of 128 to
     * its subtree's root, then one launch per 7 further levels.
     */
    private byte[] deviceRoot(Buf data) {
        int leaf = JobSpec.MERKLE_CHUNK_BYTES;
        long leaves = Merkle.leafCount(data.bytes, leaf);
        if (leaves == 0) {
            return Merkle.emptyRoot();
        }
        dev.enter();
        long groups = (leaves + MERKLE_FANOUT - 1) / MERKLE_FANOUT;
        long above = (groups + MERKLE_FANOUT - 1) / MERKLE_FANOUT;
        // Two scratch levels, used in turn: groups, groups / 128, groups / 128^2 (<= groups), ...
        CUdeviceptr[] level = {device("scratch:merkle-" + data.label + "-a", groups * 32).device,
                device("scratch:merkle-" + data.label + "-b", above * 32).device};
        Driver.call("cuEventRecord(mark0)", () -> cuEventRecord(mark0, stream));
        launch("depin_merkle_leaves", (int) groups, 1, MERKLE_FANOUT, Pointer.to(Pointer.to(data.device),
                Pointer.to(new long[] {data.bytes}), Pointer.to(new int[] {leaf}), Pointer.to(level[0])));
        int cur = 0;
        for (long count = groups; count > 1; count = (count + MERKLE_FANOUT - 1) / MERKLE_FANOUT) {
            CUdeviceptr src = level[cur];
            CUdeviceptr dst = level[cur ^ 1];
            launch("depin_merkle_nodes", (int) ((count + MERKLE_FANOUT - 1) / MERKLE_FANOUT), 1, MERKLE_FANOUT,
                    Pointer.to(Pointer.to(src), Pointer.to(new long[] {count}), Pointer.to(dst)));
            cur ^= 1;
        }
        Driver.call("cuEventRecord(mark1)", () -> cuEventRecord(mark1, stream));
        sync();
        rootNanos += elapsed(mark0, mark1);
        rootBytes += data.bytes;
        int[] words = new int[8];
        CUdeviceptr root = level[cur];
        Driver.call("cuMemcpyDtoH(merkle root)", () -> cuMemcpyDtoH(Pointer.to(words), root, 32));
        ByteBuffer r = ByteBuffer.allocate(32).order(ByteOrder.BIG_ENDIAN);
        for (int w : words) {
            r.putInt(w);
        }
        return r.array();
    }

    @Override
    public ExecutionTiming timing() {
        if (timing == null) {
            throw new ExecutionFailedException("kernel " + kernel.id() + " has not run in this context: call run()");
        }
        return timing;
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
        List<Allocation> list = new ArrayList<>(buffers.size());
        for (Buf b : buffers) {
            list.add(new Allocation(b.location, b.label, b.bytes));
        }
        return list;
    }

    @Override
    public List<WipeRecord> wipe(byte pattern) {
        if (closed) {
            throw new ExecutionFailedException("this CUDA execution context is closed: nothing left to wipe");
        }
        dev.enter();
        int pat = pattern & 0xff;
        List<WipeRecord> records = new ArrayList<>(buffers.size());
        wipeDeviceNanos = 0;
        wipeDeviceBytes = 0;
        for (Buf b : buffers) {
            if (b.device != null) {
                records.add(deviceWipe(b, pat));
            } else {
                records.add(HostWipe.wipe(b.label, b.view.duplicate().clear(), pattern));
            }
        }
        roots.clear();
        wiped = true;
        return records;
    }

    /** Fills a device buffer with the pattern and verifies it on the device; returns the record. */
    private WipeRecord deviceWipe(Buf b, int pattern) {
        Driver.call("cuMemsetD8Async(wipe check)", () -> cuMemsetD8Async(check, (byte) 0, 16, stream));
        Driver.call("cuEventRecord(mark0)", () -> cuEventRecord(mark0, stream));
        launch("depin_fill", grid(b.bytes / 16 + 1), 1, THREADS, Pointer.to(Pointer.to(b.device),
                Pointer.to(new long[] {b.bytes}), Pointer.to(new int[] {pattern})));
        launch("depin_verify", grid(b.bytes / 16 + 1), 1, THREADS, Pointer.to(Pointer.to(b.device),
                Pointer.to(new long[] {b.bytes}), Pointer.to(new int[] {pattern}), Pointer.to(check)));
        Driver.call("cuEventRecord(mark1)", () -> cuEventRecord(mark1, stream));
        sync();
        wipeDeviceNanos += elapsed(mark0, mark1);
        wipeDeviceBytes += b.bytes;
        long[] result = new long[2];
        Driver.call("cuMemcpyDtoH(wipe check)", () -> cuMemcpyDtoH(Pointer.to(result), check, 16));
        return deviceRecord(b.label, b.bytes, pattern, result[0], result[1]);
    }

    /**
     * The record of a device wipe from the verify kernel's two counters.
     *
     * @param label      the buffer's label
     * @param bytes      its size
     * @param pattern    the pattern byte, 0..255
     * @param mismatches bytes that differ from the pattern, as counted on the device
     * @param byteSum    the sum of all bytes modulo 2^64, as computed on the device
     * @return the record; its check digest is hex of (bytes, mismatches, byteSum), 8 bytes each, big-endian
     * @throws ExecutionFailedException if a byte differs or the sum is not {@code bytes * pattern}
     */
    static WipeRecord deviceRecord(String label, long bytes, int pattern, long mismatches, long byteSum) {
        if (mismatches != 0 || byteSum != bytes * pattern) {
            throw new ExecutionFailedException("device wipe of '" + label + "' failed its read-back: " + mismatches
                    + " of " + bytes + " bytes differ from pattern " + String.format("0x%02x", pattern)
                    + " (byte sum " + Long.toUnsignedString(byteSum) + ", expected "
                    + Long.toUnsignedString(bytes * pattern) + "); the device is unreliable, take it out of service");
        }
        ByteBuffer d = ByteBuffer.allocate(24).putLong(bytes).putLong(mismatches).putLong(byteSum);
        return new WipeRecord(WipeRecord.DEVICE, label, bytes, bytes, pattern, WipeRecord.DEVICE_READBACK_REDUCTION,
                Hex.encode(d.array()));
    }

    /** Overwrites anything not wiped yet, then frees every buffer, the events and the stream. Never throws. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        boolean overwritten = wiped;
        try {
            dev.enter();
            if (!wiped && streamCreated) {
                for (Buf b : buffers) {
                    if (b.device != null) {
                        launch("depin_fill", grid(b.bytes / 16 + 1), 1, THREADS, Pointer.to(Pointer.to(b.device),
                                Pointer.to(new long[] {b.bytes}), Pointer.to(new int[] {0x5a})));
                    } else {
                        HostWipe.wipe(b.label, b.view.duplicate().clear(), (byte) 0x5a);
                    }
                }
            }
            if (streamCreated) {
                sync();
                overwritten = true;
            }
        } catch (RuntimeException e) {
            LOG.warn("overwriting the buffers of a {} job on CUDA device {} failed: {}", kernel.id(), dev.index(),
                    e.getMessage());
        }
        // Blocks go back to the pools only when every byte this job used was overwritten.
        for (Buf b : buffers) {
            try {
                if (b.device != null) {
                    if (overwritten) {
                        dev.devicePool().give(b.device, b.bytes);
                    } else {
                        dev.devicePool().discard(b.device);
                    }
                    dev.liveDeviceBytes().addAndGet(-b.bytes);
                } else {
                    if (overwritten) {
                        dev.pinnedPool().give(b.host, b.bytes);
                    } else {
                        dev.pinnedPool().discard(b.host);
                    }
                    dev.livePinnedBytes().addAndGet(-b.bytes);
                }
            } catch (RuntimeException e) {
                LOG.warn("releasing buffer '{}' failed: {}", b.label, e.getMessage());
            }
        }
        buffers.clear();
        if (checkAllocated) {
            quietly("cuMemFree(wipe check)", () -> cuMemFree(check));
        }
        if (userModule != null) {
            CUmodule m = userModule;
            quietly("cuModuleUnload(user PTX)", () -> cuModuleUnload(m));
        }
        CUevent[] events = {start, end, mark0, mark1};
        for (int i = 0; i < eventsCreated; i++) {
            CUevent e = events[i];
            quietly("cuEventDestroy", () -> cuEventDestroy(e));
        }
        if (streamCreated) {
            quietly("cuStreamDestroy", () -> cuStreamDestroy(stream));
        }
    }

    private void quietly(String what, java.util.function.IntSupplier call) {
        try {
            Driver.call(what, call);
        } catch (RuntimeException e) {
            LOG.warn("releasing a CUDA resource failed: {}", e.getMessage());
        }
    }
}
