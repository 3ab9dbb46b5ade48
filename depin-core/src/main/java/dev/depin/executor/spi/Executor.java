package dev.depin.executor.spi;

import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.UnsupportedKernelException;
import dev.depin.provider.DeviceInfo;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * Runs kernels on one local device. Implementations: the CPU reference executor (always
 * present) and the CUDA executor. Every executor implements the built-in kernels with
 * the semantics documented on {@link dev.depin.kernel.BuiltinKernel}.
 *
 * <p>An executor is created by its {@link ExecutorProvider}, owns its native resources
 * and threads, and releases them on {@link #close()}. {@link #execute} may be called
 * from several threads at once.
 */
public interface Executor extends AutoCloseable {

    /** @return a short kind name recorded in receipts, e.g. {@code "cpu"} or {@code "cuda"} */
    String kind();

    /** @return the device this executor runs on, as it really is */
    DeviceInfo device();

    /** @return whether this executor can run {@code kernel} */
    boolean supports(Kernel kernel);

    /**
     * Runs {@code kernel} on {@code inputs} and returns its outputs.
     *
     * <p>The caller has already validated the inputs against the kernel's buffer
     * declarations. Every host buffer the executor allocates for the job (staging
     * copies, outputs) must come from {@code workspace}, so the node can wipe them after
     * the job; outputs returned are views of workspace buffers.
     *
     * @param kernel    what to run
     * @param params    its launch parameters
     * @param inputs    input buffers by name, little-endian, position 0, read-only
     * @param workspace where to allocate host memory for this job
     * @return the outputs and timing
     * @throws UnsupportedKernelException if {@link #supports} is false for the kernel
     * @throws ExecutionFailedException   if the device fails
     */
    ExecutionOutput execute(Kernel kernel, LaunchParams params, Map<String, ByteBuffer> inputs,
                            JobWorkspace workspace);

    /** Releases the executor's threads and native resources. Idempotent. */
    @Override
    void close();
}
