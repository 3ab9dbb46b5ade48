package dev.depin.cuda.internal;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.HostWipe;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.spi.AbstractExecutionContext;
import dev.depin.executor.spi.ExecutionFailedException;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job on a CUDA device. Owns two streams (the job's copies, kernel and wipe; and its
 * output roots), events for device time, a pinned host buffer and a device buffer per input
 * and output, the Merkle scratch of each output and whatever scratch the kernel's launch
 * needs; frees all of them on {@link #close()}. How a kernel is launched is not here: it is
 * its {@link CudaKernel} constant (or {@link PtxLaunch}), which calls back
 * {@link #launch(String, int, int, int, Object...)}, {@link #deviceInput}, {@link #deviceOutput}
 * and {@link #scratch}.
 *
 * <p>{@link #run()}: inputs (written by the caller straight into pinned memory) go to the
 * device, the kernel runs, then the outputs come back while the second stream computes each
 * output's RFC 6962 root on the device from the device copy (the copy engine and the SMs
 * work at once), so {@link #outputRoot} costs no time after the download. The wipe fills
 * every device buffer with the pattern and reads it back on the device (method
 * {@link WipeRecord#DEVICE_READBACK_REDUCTION}), all buffers in one pass with one
 * synchronisation, while the host compares every pinned buffer; inputs are never hashed on the
 * device (the provider committed to them as they arrived).
 */
public final class CudaJob extends AbstractExecutionContext {
    private static final Logger LOG = LoggerFactory.getLogger(CudaJob.class);
    private static final int WIPE_THREADS = 256;
    /** Nodes one Merkle thread block reduces to one (depin_common.cuh's DEPIN_MERKLE_FANOUT). */
    private static final int MERKLE_FANOUT = 128;
    /** Device buffers whose wipe counters are read back in one copy. */
    private static final int WIPE_SLOTS = 64;

    /** A prepared launch: enqueues the kernel on the job's stream when the job runs. */
    @FunctionalInterface
    public interface Launch extends AutoCloseable {
        /** Enqueues the kernel (and anything it needs between launches) on the job's stream. */
        void run();

        /** Releases what the launch holds beyond the job's buffers (a user module). */
        @Override
        default void close() {
        }
    }

    /** Scratch memory of a launch: a device buffer and its pinned host mirror, both wiped with the job. */
    public final class Scratch {
        private final Buf device;
        private final Buf host;

        private Scratch(Buf device, Buf host) {
            this.device = device;
            this.host = host;
        }

        /** @return the device buffer */
        public CUdeviceptr device() {
            return device.device;
        }

        /**
         * Copies the device buffer into its pinned mirror and waits for it.
         *
         * @return the mirror, little-endian, position 0
         */
        public ByteBuffer toHost() {
            Driver.call("cuMemcpyDtoHAsync(" + device.label + ")",
                    () -> cuMemcpyDtoHAsync(host.host, device.device, device.bytes, stream));
            sync(stream);
            return host.view.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** Device time of each phase of the job, from CUDA events; 0 where a phase has not run. */
    public record Phases(long uploadNanos, long kernelNanos, long downloadNanos, long rootNanos, long rootBytes,
                         long wipeNanos, long wipeBytes) {
    }

    private final DeviceContext dev;
    private final CUstream stream = new CUstream();
    private final CUstream rootStream = new CUstream();
    private final CUevent uploadStart = new CUevent();
    private final CUevent start = new CUevent();
    private final CUevent end = new CUevent();
    private final CUevent outputsReady = new CUevent();
    private final CUevent downloaded = new CUevent();
    private final CUevent rootStart = new CUevent();
    private final CUevent rootEnd = new CUevent();
    private final CUevent wipeStart = new CUevent();
    private final CUevent wipeEnd = new CUevent();
    private final List<Buf> buffers = new ArrayList<>();
    private final Map<String, Buf> hostIn = new LinkedHashMap<>();
    private final Map<String, Buf> devIn = new LinkedHashMap<>();
    private final Map<String, Buf> hostOut = new LinkedHashMap<>();
    private final Map<String, Buf> devOut = new LinkedHashMap<>();
    private final Map<String, Buf[]> merkle = new LinkedHashMap<>();
    private final Set<String> writtenOnHost = new HashSet<>();
    private final Map<String, byte[]> roots = new LinkedHashMap<>();
    private final int checkBytes;
    private CUdeviceptr check;
    private Pointer checkHost;
    private ByteBuffer checkView;
    private Launch prepared;
    private int streamsCreated;
    private int eventsCreated;
    private boolean kernelDone;
    private boolean rootsEnqueued;
    private boolean rootsCollected;
    private boolean wiped;
    private boolean closed;
    private long wipeNanos;
    private long wipeBytes;

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
     * Opens a job: finds the kernel's launch, creates the streams and events, allocates every
     * input, output and scratch buffer and prepares the launch (user PTX is loaded here).
     *
     * @param dev    the device's context
     * @param kernel a kernel the CUDA executor runs ({@link CudaKernel#of})
     * @param params launch parameters
     * @throws dev.depin.kernel.UnsupportedKernelException if the CUDA executor has no launch for the kernel
     * @throws dev.depin.kernel.ShapeMismatchException if the parameters do not fit the kernel or the device
     * @throws dev.depin.cuda.DeviceException if the device fails or is out of memory
     */
    public CudaJob(DeviceContext dev, Kernel kernel, LaunchParams params) {
        super("CUDA device " + dev.index(), kernel, params);
        this.dev = dev;
        CudaLaunch launcher = CudaKernel.of(kernel);
        List<BufferDecl> inputs = kernel.inputs(params);
        List<BufferDecl> outputs = kernel.outputs(params);
        launcher.check(params);
        this.checkBytes = 16 * WIPE_SLOTS + 32 * Math.max(1, outputs.size());
        try {
            dev.enter();
            for (CUstream s : new CUstream[] {stream, rootStream}) {
                Driver.call("cuStreamCreate", () -> cuStreamCreate(s, CUstream_flags.CU_STREAM_NON_BLOCKING));
                streamsCreated++;
            }
            for (CUevent e : events()) {
                Driver.call("cuEventCreate", () -> cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT));
                eventsCreated++;
            }
            // Wipe counters and output roots: no job data, so not an allocation of the job.
            check = dev.devicePool().take(checkBytes);
            checkHost = dev.pinnedPool().take(checkBytes);
            checkView = checkHost.getByteBuffer(0, checkBytes).order(ByteOrder.LITTLE_ENDIAN);
            for (BufferDecl d : inputs) {
                Buf h = pinned(d.name(), d.bytes());
                hostIn.put(d.name(), h);
                devIn.put(d.name(), device(d.name(), d.bytes()));
                addInput(d.name(), h.view);
            }
            for (BufferDecl d : outputs) {
                devOut.put(d.name(), device(d.name(), d.bytes()));
                Buf h = pinned(d.name(), d.bytes());
                hostOut.put(d.name(), h);
                addOutput(d.name(), h.view);
            }
            for (BufferDecl d : outputs) {
                long groups = (Merkle.leafCount(d.bytes(), JobSpec.MERKLE_CHUNK_BYTES) + MERKLE_FANOUT - 1)
                        / MERKLE_FANOUT;
                if (groups > 1) {
                    // Two levels used in turn: groups, groups / 128 (then groups / 128^2 <= groups, ...).
                    merkle.put(d.name(), new Buf[] {device("scratch:merkle-" + d.name() + "-a", groups * 32),
                            device("scratch:merkle-" + d.name() + "-b", (groups + MERKLE_FANOUT - 1) / MERKLE_FANOUT * 32)});
                }
            }
            this.prepared = launcher.prepare(this, params);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private CUevent[] events() {
        return new CUevent[] {uploadStart, start, end, outputsReady, downloaded, rootStart, rootEnd, wipeStart, wipeEnd};
    }

    private Buf pinned(String label, long bytes) {
        Pointer p = dev.pinnedPool().take(bytes);
        ByteBuffer view = p.getByteBuffer(0, bytes).order(ByteOrder.LITTLE_ENDIAN);
        Buf b = new Buf(WipeRecord.HOST, label, bytes, null, p, view);
        buffers.add(b);
        wiped = false;
        dev.livePinnedBytes().addAndGet(bytes);
        zero(view);  // pinned memory is not zeroed: start every job from zeros
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

    // ---------------------------------------------------------------- for the launches

    /**
     * A scratch buffer on the device with a pinned mirror, listed and wiped with the job.
     *
     * @param label {@code scratch:...}
     * @param bytes its size
     * @return the scratch
     */
    Scratch scratch(String label, long bytes) {
        return new Scratch(device(label, bytes), pinned(label, bytes));
    }

    /**
     * @param name an input the kernel declares
     * @return its device buffer
     */
    CUdeviceptr deviceInput(String name) {
        return devIn.get(name).device;
    }

    /**
     * @param name an output the kernel declares
     * @return its device buffer
     */
    CUdeviceptr deviceOutput(String name) {
        return devOut.get(name).device;
    }

    /** Records the end of the kernel's device time (a launch that does host work after its kernel calls it). */
    void kernelDone() {
        Driver.call("cuEventRecord(end)", () -> cuEventRecord(end, stream));
        kernelDone = true;
    }

    /**
     * Writes an output the launch computed on the host: into its pinned buffer, then to the
     * device copy (which the root and the wipe read); it is not downloaded again.
     *
     * @param name  an output the kernel declares
     * @param value exactly its bytes
     */
    void writeOutput(String name, ByteBuffer value) {
        Buf h = hostOut.get(name);
        h.view.duplicate().clear().put(value.duplicate().clear());
        Buf d = devOut.get(name);
        Driver.call("cuMemcpyHtoDAsync(" + name + ")", () -> cuMemcpyHtoDAsync(d.device, h.host, h.bytes, stream));
        writtenOnHost.add(name);
    }

    /**
     * Zeroes an output's device buffer before a kernel that may not write all of it.
     *
     * @param name an output the kernel declares
     */
    void zeroOutput(String name) {
        Buf o = devOut.get(name);
        Driver.call("cuMemsetD8Async(" + name + ")", () -> cuMemsetD8Async(o.device, (byte) 0, o.bytes, stream));
    }

    /**
     * Launches a built-in entry on the job's stream.
     *
     * @param entry a module entry
     * @param gx    grid x
     * @param gy    grid y
     * @param block threads per block (x)
     * @param args  the kernel's arguments in order: {@link CUdeviceptr}, {@link Integer} (32-bit),
     *              {@link Long} (64-bit), {@link Float}
     */
    void launch(String entry, int gx, int gy, int block, Object... args) {
        launch(dev.function(entry), entry, new int[] {gx, gy, 1, block, 1, 1}, args);
    }

    /**
     * Launches a function on the job's stream.
     *
     * @param f        the function
     * @param name     its name, for messages
     * @param geometry grid x, y, z and block x, y, z
     * @param args     as {@link #launch(String, int, int, int, Object...)}
     */
    void launch(CUfunction f, String name, int[] geometry, Object... args) {
        launchOn(stream, f, name, geometry, args);
    }

    private void launchOn(CUstream s, CUfunction f, String name, int[] geometry, Object... args) {
        Pointer[] p = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a instanceof CUdeviceptr d) {
                p[i] = Pointer.to(d);
            } else if (a instanceof Integer v) {
                p[i] = Pointer.to(new int[] {v});
            } else if (a instanceof Long v) {
                p[i] = Pointer.to(new long[] {v});
            } else if (a instanceof Float v) {
                p[i] = Pointer.to(new float[] {v});
            } else {
                throw new IllegalArgumentException("kernel argument " + i + " of " + name + " is a "
                        + (a == null ? "null" : a.getClass().getSimpleName()) + ": pass a device pointer, int, long or float");
            }
        }
        Pointer argv = Pointer.to(p);
        Driver.call("cuLaunchKernel(" + name + ", grid " + geometry[0] + "x" + geometry[1] + "x" + geometry[2] + ")",
                () -> cuLaunchKernel(f, geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5],
                        0, s, argv, null));
    }

    // ---------------------------------------------------------------- run

    @Override
    protected long launch() {
        dev.enter();
        Driver.call("cuEventRecord(uploadStart)", () -> cuEventRecord(uploadStart, stream));
        for (Map.Entry<String, Buf> e : devIn.entrySet()) {
            Buf h = hostIn.get(e.getKey());
            Driver.call("cuMemcpyHtoDAsync(" + e.getKey() + ")",
                    () -> cuMemcpyHtoDAsync(e.getValue().device, h.host, h.bytes, stream));
        }
        Driver.call("cuEventRecord(start)", () -> cuEventRecord(start, stream));
        checkCancelled();
        prepared.run();
        if (!kernelDone) {
            kernelDone();
        }
        Driver.call("cuEventRecord(outputsReady)", () -> cuEventRecord(outputsReady, stream));
        enqueueRoots();
        for (Map.Entry<String, Buf> e : devOut.entrySet()) {
            Buf h = hostOut.get(e.getKey());
            if (!writtenOnHost.contains(e.getKey())) {
                Driver.call("cuMemcpyDtoHAsync(" + e.getKey() + ")",
                        () -> cuMemcpyDtoHAsync(h.host, e.getValue().device, h.bytes, stream));
            }
        }
        Driver.call("cuEventRecord(downloaded)", () -> cuEventRecord(downloaded, stream));
        sync(stream);
        return elapsed(start, end);
    }

    /**
     * Enqueues every output's root on the root stream, after the outputs are final: one
     * launch hashes the leaves (a thread each, {@link JobSpec#MERKLE_CHUNK_BYTES} bytes) and
     * reduces each aligned group of 128 to its subtree's root, then one launch per 7 further
     * levels; the last writes the root into the check buffer, which is copied to the host.
     */
    private void enqueueRoots() {
        Driver.call("cuStreamWaitEvent(roots after outputs)", () -> cuStreamWaitEvent(rootStream, outputsReady, 0));
        Driver.call("cuEventRecord(rootStart)", () -> cuEventRecord(rootStart, rootStream));
        int leaf = JobSpec.MERKLE_CHUNK_BYTES;
        int slot = 0;
        for (Map.Entry<String, Buf> e : devOut.entrySet()) {
            Buf data = e.getValue();
            CUdeviceptr rootSlot = check.withByteOffset(16L * WIPE_SLOTS + 32L * slot++);
            long leaves = Merkle.leafCount(data.bytes, leaf);
            if (leaves == 0) {
                continue;
            }
            long groups = (leaves + MERKLE_FANOUT - 1) / MERKLE_FANOUT;
            Buf[] level = merkle.get(e.getKey());
            rootLaunch("depin_merkle_leaves", (int) groups, data.device, data.bytes, leaf,
                    groups == 1 ? rootSlot : level[0].device);
            int cur = 0;
            for (long count = groups; count > 1; count = (count + MERKLE_FANOUT - 1) / MERKLE_FANOUT) {
                long blocks = (count + MERKLE_FANOUT - 1) / MERKLE_FANOUT;
                rootLaunch("depin_merkle_nodes", (int) blocks, level[cur].device, count,
                        blocks == 1 ? rootSlot : level[cur ^ 1].device);
                cur ^= 1;
            }
        }
        long rootsAt = 16L * WIPE_SLOTS;
        long rootsBytes = 32L * Math.max(1, devOut.size());
        Driver.call("cuMemcpyDtoHAsync(merkle roots)", () -> cuMemcpyDtoHAsync(checkHost.withByteOffset(rootsAt),
                check.withByteOffset(rootsAt), rootsBytes, rootStream));
        Driver.call("cuEventRecord(rootEnd)", () -> cuEventRecord(rootEnd, rootStream));
        rootsEnqueued = true;
    }

    private void rootLaunch(String entry, int blocks, Object... args) {
        launchOn(rootStream, dev.function(entry), entry, new int[] {blocks, 1, 1, MERKLE_FANOUT, 1, 1}, args);
    }

    /** Waits for the roots and reads them from the check buffer's mirror, once. */
    private void collectRoots() {
        if (rootsCollected) {
            return;
        }
        dev.enter();
        sync(rootStream);
        int slot = 0;
        for (Map.Entry<String, Buf> e : devOut.entrySet()) {
            int at = 16 * WIPE_SLOTS + 32 * slot++;
            if (e.getValue().bytes == 0) {
                roots.put(e.getKey(), Merkle.emptyRoot());
                continue;
            }
            ByteBuffer r = ByteBuffer.allocate(32).order(ByteOrder.BIG_ENDIAN);
            for (int w = 0; w < 8; w++) {
                // The kernel writes 8 digest words; the check buffer's view is little-endian.
                r.putInt(checkView.getInt(at + 4 * w));
            }
            roots.put(e.getKey(), r.array());
        }
        rootsCollected = true;
    }

    @Override
    public Optional<byte[]> outputRoot(String name) {
        requireRan();
        if (!devOut.containsKey(name)) {
            throw new InvalidArgumentException("kernel " + kernel().id() + " has no output '" + name + "': it writes "
                    + devOut.keySet());
        }
        if (wiped) {
            throw new ExecutionFailedException("the outputs of this job were wiped: ask for roots before wipe()");
        }
        collectRoots();
        return Optional.of(roots.get(name).clone());
    }

    /**
     * Device time of each phase so far (CUDA events): upload, kernel, download, the output
     * roots (on their own stream, beside the download) and the last wipe's device part.
     *
     * @return the phases
     */
    public Phases phases() {
        requireRan();
        collectRoots();
        long rootBytes = devOut.values().stream().mapToLong(b -> b.bytes).sum();
        return new Phases(elapsed(uploadStart, start), elapsed(start, end), elapsed(end, downloaded),
                elapsed(rootStart, rootEnd), rootBytes, wipeNanos, wipeBytes);
    }

    private long elapsed(CUevent from, CUevent to) {
        float[] ms = new float[1];
        Driver.call("cuEventElapsedTime", () -> cuEventElapsedTime(ms, from, to));
        return Math.max(0, Math.round(ms[0] * 1e6));
    }

    private void sync(CUstream s) {
        Driver.call("cuStreamSynchronize", () -> cuStreamSynchronize(s));
    }

    @Override
    public List<Allocation> allocations() {
        List<Allocation> list = new ArrayList<>(buffers.size());
        for (Buf b : buffers) {
            list.add(new Allocation(b.location, b.label, b.bytes));
        }
        return list;
    }

    // ---------------------------------------------------------------- wipe

    /**
     * Fills every device buffer with the pattern and reads it back on the device (64 buffers
     * per read-back of the counters), comparing every pinned buffer on the host meanwhile;
     * returns the records in allocation order.
     */
    @Override
    public List<WipeRecord> wipe(byte pattern) {
        if (closed) {
            throw new ExecutionFailedException("this CUDA execution context is closed: nothing left to wipe");
        }
        dev.enter();
        if (rootsEnqueued) {
            // The roots read the outputs: they finish before the fill starts.
            Driver.call("cuStreamWaitEvent(wipe after roots)", () -> cuStreamWaitEvent(stream, rootEnd, 0));
        }
        int pat = pattern & 0xff;
        List<Buf> onDevice = buffers.stream().filter(b -> b.device != null).toList();
        Map<Buf, WipeRecord> records = new LinkedHashMap<>();
        wipeNanos = 0;
        wipeBytes = 0;
        for (int from = 0; from < onDevice.size() || from == 0; from += WIPE_SLOTS) {
            List<Buf> group = onDevice.subList(from, Math.min(onDevice.size(), from + WIPE_SLOTS));
            int n = group.size();
            Driver.call("cuMemsetD8Async(wipe counters)", () -> cuMemsetD8Async(check, (byte) 0, 16L * Math.max(1, n),
                    stream));
            Driver.call("cuEventRecord(wipeStart)", () -> cuEventRecord(wipeStart, stream));
            for (int i = 0; i < n; i++) {
                Buf b = group.get(i);
                long words = b.bytes / 16;
                launch("depin_fill", dev.residentGrid("depin_fill", WIPE_THREADS, words), 1, WIPE_THREADS, b.device,
                        b.bytes, pat);
                launch("depin_verify", dev.residentGrid("depin_verify", WIPE_THREADS, words), 1, WIPE_THREADS,
                        b.device, b.bytes, pat, check.withByteOffset(16L * i));
            }
            Driver.call("cuEventRecord(wipeEnd)", () -> cuEventRecord(wipeEnd, stream));
            Driver.call("cuMemcpyDtoHAsync(wipe counters)", () -> cuMemcpyDtoHAsync(checkHost, check,
                    16L * Math.max(1, n), stream));
            if (from == 0) {
                // The host buffers are compared while the device works on the first group.
                for (Buf b : buffers) {
                    if (b.device == null) {
                        records.put(b, HostWipe.wipe(b.label, b.view.duplicate().clear(), pattern));
                    }
                }
            }
            sync(stream);
            wipeNanos += elapsed(wipeStart, wipeEnd);
            for (int i = 0; i < n; i++) {
                Buf b = group.get(i);
                records.put(b, deviceRecord(b.label, b.bytes, pat, checkView.getLong(16 * i),
                        checkView.getLong(16 * i + 8)));
                wipeBytes += b.bytes;
            }
            if (onDevice.isEmpty()) {
                break;
            }
        }
        wiped = true;
        List<WipeRecord> ordered = new ArrayList<>(buffers.size());
        for (Buf b : buffers) {
            ordered.add(records.get(b));
        }
        return ordered;
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

    // ---------------------------------------------------------------- close

    /** Overwrites anything not wiped yet, then frees every buffer, the events and the streams. Never throws. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        boolean overwritten = wiped;
        try {
            dev.enter();
            if (streamsCreated == 2) {
                // Nothing may still read or write a buffer when it is overwritten or freed.
                sync(rootStream);
                sync(stream);
                if (!wiped) {
                    for (Buf b : buffers) {
                        if (b.device != null) {
                            launch("depin_fill", dev.residentGrid("depin_fill", WIPE_THREADS, b.bytes / 16), 1,
                                    WIPE_THREADS, b.device, b.bytes, 0x5a);
                        } else {
                            HostWipe.wipe(b.label, b.view.duplicate().clear(), (byte) 0x5a);
                        }
                    }
                    sync(stream);
                }
                overwritten = true;
            }
        } catch (RuntimeException e) {
            LOG.warn("overwriting the buffers of a {} job on CUDA device {} failed: {}", kernel().id(), dev.index(),
                    e.getMessage());
        }
        if (prepared != null) {
            try {
                prepared.close();  // after the streams are idle: a user module is unloaded here
            } catch (RuntimeException e) {
                LOG.warn("releasing the launch of a {} job on CUDA device {} failed: {}", kernel().id(), dev.index(),
                        e.getMessage());
            }
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
        // The check buffers hold counters and roots, no job data.
        try {
            if (check != null) {
                if (overwritten) {
                    dev.devicePool().give(check, checkBytes);
                } else {
                    dev.devicePool().discard(check);
                }
            }
            if (checkHost != null) {
                if (overwritten) {
                    dev.pinnedPool().give(checkHost, checkBytes);
                } else {
                    dev.pinnedPool().discard(checkHost);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("releasing the check buffers failed: {}", e.getMessage());
        }
        CUevent[] events = events();
        for (int i = 0; i < eventsCreated; i++) {
            CUevent e = events[i];
            quietly("cuEventDestroy", () -> cuEventDestroy(e));
        }
        CUstream[] streams = {stream, rootStream};
        for (int i = 0; i < streamsCreated; i++) {
            CUstream s = streams[i];
            quietly("cuStreamDestroy", () -> cuStreamDestroy(s));
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
