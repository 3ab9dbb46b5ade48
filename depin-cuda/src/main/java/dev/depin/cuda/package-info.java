/**
 * CUDA support through JCuda. Today this package holds {@link dev.depin.cuda.Cuda}, the one
 * place that probes for a driver and devices, so that a machine without a GPU gets one clear
 * log line, never a crash. The CUDA executor (PTX kernels, device wipe) is planned and will
 * build on it; until then every job runs on the CPU executor in {@code depin-core}.
 *
 * <pre>{@code
 * Cuda.ensureAvailability();   // throws Cuda.CudaUnavailableException with the cause
 * }</pre>
 */
package dev.depin.cuda;
