/**
 * The CUDA executor through JCuda's driver API. {@link dev.depin.cuda.Cuda} probes for a
 * driver and devices once (a machine without a GPU gets one log line, never a crash; the
 * system property {@code depin.cuda.disabled=true} turns CUDA off);
 * {@link dev.depin.cuda.CudaExecutor} runs the built-in kernels (tiled SGEMM, SAXPY,
 * deterministic reduce-sum) and user PTX on one device, wipes every buffer with an on-device
 * read-back and computes Merkle roots on the device. It is registered with
 * {@link java.util.ServiceLoader}, so {@code ExecutorRegistry.createBest} picks it over the
 * CPU executor wherever a device is present. Driver failures are
 * {@link dev.depin.cuda.DeviceException}s naming the call and the error.
 *
 * <p>The kernels ship as PTX (ISA 9.0, from nvcc 13: needs a driver &ge; 580) and as SASS for
 * sm_80, sm_86, sm_89 and sm_90 (loads without JIT on those cards).
 *
 * <pre>{@code
 * try (DeviceExecutor best = ExecutorRegistry.createBest(ExecutorOptions.defaults())) {
 *     System.out.println(best.kind() + " on " + best.device().model());   // "cuda on NVIDIA H100 ..."
 * }
 * }</pre>
 */
package dev.depin.cuda;
