package dev.depin.provider;

import dev.depin.InvalidArgumentException;
import java.util.regex.Pattern;

/**
 * One compute device a provider offers, described as it really is.
 *
 * <p>For a GPU, {@code model} is the driver's name (e.g. "NVIDIA H100 80GB HBM3"),
 * {@code computeCapability} e.g. "9.0", {@code units} the SM count, and
 * {@code uuidHash} the SHA-256 of the device UUID (so two offers on one card can be
 * told apart without publishing the UUID). For the CPU executor, {@code model} is the
 * processor name, {@code computeCapability} is "-", {@code units} the number of worker
 * threads and {@code uuidHash} the SHA-256 of the host's identity string.
 *
 * <p>{@code fp32Gflops} is the device's sustained single-precision rate as measured
 * by the provider's executor on start (not a datasheet peak); buyers use it to
 * estimate device time and therefore price.
 *
 * @param kind              CPU or CUDA
 * @param model             device model name, 1–128 printable characters
 * @param memoryBytes       memory available to jobs, &gt; 0
 * @param computeCapability CUDA compute capability such as "8.9", or "-" for a CPU
 * @param units             streaming multiprocessors (GPU) or worker threads (CPU), &gt; 0
 * @param fp32Gflops        measured sustained FP32 rate in GFLOP/s, finite and &gt; 0
 * @param uuidHash          64 lower-case hex characters
 * @param driverVersion     the device driver's version (e.g. "580.65.06" for NVIDIA), or "-"
 *                          where there is no driver (a CPU); 1–64 printable characters
 * @param runtimeVersion    the runtime the executor uses (e.g. "CUDA 13.0", or the Java
 *                          version for the CPU executor); 1–64 printable characters
 */
public record DeviceInfo(DeviceKind kind, String model, long memoryBytes, String computeCapability,
                         int units, double fp32Gflops, String uuidHash, String driverVersion,
                         String runtimeVersion) {
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern CC = Pattern.compile("-|[0-9]{1,2}\\.[0-9]");

    /**
     * Checks every field.
     *
     * @param kind              CPU or CUDA
     * @param model             device model name, 1–128 printable characters
     * @param memoryBytes       memory available to jobs, &gt; 0
     * @param computeCapability CUDA compute capability such as "8.9", or "-" for a CPU
     * @param units             streaming multiprocessors (GPU) or worker threads (CPU), &gt; 0
     * @param fp32Gflops        measured sustained FP32 rate in GFLOP/s, finite and &gt; 0
     * @param uuidHash          64 lower-case hex characters
     * @param driverVersion     the device driver's version (e.g. "580.65.06" for NVIDIA), or "-"
     *                          where there is no driver (a CPU); 1–64 printable characters
     * @param runtimeVersion    the runtime the executor uses (e.g. "CUDA 13.0", or the Java
     *                          version for the CPU executor); 1–64 printable characters
     * @throws InvalidArgumentException if any field is null or out of range
     */
    public DeviceInfo {
        InvalidArgumentException.requireNonNull(kind, "device kind");
        InvalidArgumentException.requireNonNull(model, "device model");
        InvalidArgumentException.requireNonNull(computeCapability, "device compute capability");
        InvalidArgumentException.requireNonNull(uuidHash, "device uuid hash");
        if (model.isBlank() || model.length() > 128 || !model.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new InvalidArgumentException("device model '" + model
                    + "' must be 1-128 printable ASCII characters");
        }
        if (memoryBytes <= 0) {
            throw new InvalidArgumentException("device memory is " + memoryBytes + " bytes: it must be positive");
        }
        if (!CC.matcher(computeCapability).matches()) {
            throw new InvalidArgumentException("compute capability '" + computeCapability
                    + "' must look like 9.0, or be '-' for a CPU");
        }
        if (units <= 0) {
            throw new InvalidArgumentException("device units is " + units + ": give the SM or thread count (> 0)");
        }
        if (!(fp32Gflops > 0) || Double.isInfinite(fp32Gflops)) {
            throw new InvalidArgumentException("device fp32Gflops is " + fp32Gflops
                    + ": give the measured rate, a finite number > 0");
        }
        printable(driverVersion, "device driver version");
        printable(runtimeVersion, "device runtime version");
        if (!HEX64.matcher(uuidHash).matches()) {
            throw new InvalidArgumentException("device uuid hash must be 64 lower-case hex characters (a SHA-256)");
        }
    }

    private static void printable(String value, String what) {
        InvalidArgumentException.requireNonNull(value, what);
        if (value.isEmpty() || value.length() > 64 || !value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new InvalidArgumentException(what + " '" + value + "' must be 1-64 printable ASCII characters ('-' "
                    + "when there is none)");
        }
    }
}
