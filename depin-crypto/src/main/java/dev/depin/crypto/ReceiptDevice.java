package dev.depin.crypto;

import dev.depin.InvalidArgumentException;

/**
 * The device a job ran on, as the provider states it in a receipt or wipe attestation
 * (named apart from {@code dev.depin.provider.DeviceInfo}, the offer's richer description). Every field may be {@code null}
 * (unknown, or not applicable: a CPU has no SM count).
 *
 * @param model       e.g. {@code "NVIDIA H100 80GB HBM3"} or a CPU model
 * @param smCount     streaming multiprocessors, or {@code null}
 * @param driver      driver version, or {@code null}
 * @param cudaVersion CUDA version, or {@code null}
 */
public record ReceiptDevice(String model, Integer smCount, String driver, String cudaVersion) {
    /**
     * Validates.
     *
     * @param model       e.g. {@code "NVIDIA H100 80GB HBM3"} or a CPU model
     * @param smCount     streaming multiprocessors, or {@code null}
     * @param driver      driver version, or {@code null}
     * @param cudaVersion CUDA version, or {@code null}
     */
    public ReceiptDevice {
        if (smCount != null && smCount < 0) {
            throw new InvalidArgumentException("smCount must be >= 0, got " + smCount);
        }
    }

    /**
     * A device with only a model name (e.g. a CPU).
     *
     * @param model the model
     * @return the device info
     */
    public static ReceiptDevice of(String model) {
        return new ReceiptDevice(model, null, null, null);
    }
}
