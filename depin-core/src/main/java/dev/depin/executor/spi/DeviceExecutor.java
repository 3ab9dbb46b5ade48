package dev.depin.executor.spi;

import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.UnsupportedKernelException;
import dev.depin.provider.DeviceInfo;
import java.util.Set;

/**
 * Runs kernels on one local device: the CPU reference executor (always present), the CUDA
 * executor, or a third party's. Named {@code DeviceExecutor} so that it never collides with
 * {@link java.util.concurrent.Executor} in a file that imports both.
 *
 * <p>A job runs in an {@link ExecutionContext} that {@link #open} returns: the context owns
 * every allocation of that job (heap, direct, pinned host, device), hands outputs back by
 * reference, can be cancelled between launches, and wipes and lists every buffer it used.
 *
 * <h2>Contract for implementers</h2>
 * <ul>
 *   <li>{@link #kernels()} lists exactly the built-in kernel ids this executor runs, with
 *       the semantics documented on {@link dev.depin.kernel.BuiltinKernel};
 *       {@link #runsUserPtx()} says whether it runs {@link dev.depin.kernel.PtxKernel}s.
 *       A provider's signed offer is built from these two, so they must be true.</li>
 *   <li>{@link #device()} describes the hardware as it is (it goes into offers and
 *       receipts); it never changes while the executor is open.</li>
 *   <li>{@link #open} may be called from several threads at once; each context is used by
 *       one thread at a time, except {@link ExecutionContext#cancel()}, which any thread
 *       may call.</li>
 *   <li>Every byte of job data the executor copies anywhere lives in a buffer the
 *       context allocated, and {@link ExecutionContext#wipe} overwrites and reads back
 *       every one of them; an allocation missing from the wipe records is a defect that
 *       the contract test suite ({@code ExecutorContractTest}) catches.</li>
 *   <li>Failures throw {@link ExecutionFailedException} (device errors, out of memory,
 *       closed executor) or {@link ExecutionCancelledException}; never a raw
 *       {@code RuntimeException} or a native error.</li>
 *   <li>{@link #close()} waits for no job: the owner closes contexts first.</li>
 * </ul>
 *
 * <pre>{@code
 * try (ExecutionContext ctx = executor.open(BuiltinKernel.SAXPY, params)) {
 *     ctx.input("x").put(xBytes);
 *     ctx.input("y").put(yBytes);
 *     ctx.run();
 *     ByteBuffer out = ctx.output("out");
 *     List<WipeRecord> wiped = ctx.wipe(pattern);
 * }
 * }</pre>
 */
public interface DeviceExecutor extends AutoCloseable {

    /** @return a short kind name recorded in receipts, e.g. {@code "cpu"} or {@code "cuda"} */
    String kind();

    /** @return the device this executor runs on, as it really is */
    DeviceInfo device();

    /** @return ids of the built-in kernels this executor runs */
    Set<String> kernels();

    /** @return whether this executor runs user-supplied PTX kernels */
    boolean runsUserPtx();

    /**
     * The kernel names a provider's offer lists for this executor: the built-in kernels among
     * {@link #kernels()} and, where {@link #runsUserPtx()}, {@link dev.depin.kernel.PtxKernel#OFFER_ID}.
     *
     * @return the names, sorted, unmodifiable
     */
    default java.util.SortedSet<String> offeredKernels() {
        java.util.SortedSet<String> ids = new java.util.TreeSet<>(dev.depin.kernel.BuiltinKernel.ids());
        ids.retainAll(kernels());
        if (runsUserPtx()) {
            ids.add(dev.depin.kernel.PtxKernel.OFFER_ID);
        }
        return java.util.Collections.unmodifiableSortedSet(ids);
    }

    /**
     * Whether this executor can run {@code kernel}: whether it offers {@link Kernel#offerId()}.
     *
     * @param kernel a kernel
     * @return true if {@link #open} accepts it
     */
    default boolean supports(Kernel kernel) {
        return offeredKernels().contains(kernel.offerId());
    }

    /**
     * Opens the execution context of one job: validates the kernel and parameters and
     * allocates the input buffers (which the caller fills), but runs nothing yet.
     *
     * @param kernel what to run
     * @param params its launch parameters
     * @return the job's context; the caller closes it
     * @throws UnsupportedKernelException if {@link #supports} is false for the kernel
     * @throws dev.depin.kernel.ShapeMismatchException if the parameters do not fit the kernel
     * @throws ExecutionFailedException if the executor is closed or cannot allocate
     */
    ExecutionContext open(Kernel kernel, LaunchParams params);

    /** Releases the executor's threads and native resources. Idempotent. */
    @Override
    void close();
}
