/**
 * CUDA support through JCuda. For now: {@link dev.depin.cuda.Cuda}, the one place that probes
 * for a driver and devices, so that a machine without a GPU gets the CPU executor and one
 * clear log line, never a crash. The CUDA executor (PTX kernels, device wipe) builds on it.
 *
 * <pre>{@code
 * Cuda.ensureAvailability();   // throws Cuda.CudaUnavailableException with the cause
 * }</pre>
 */
package dev.depin.cuda;
