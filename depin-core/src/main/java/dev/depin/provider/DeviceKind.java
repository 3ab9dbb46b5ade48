package dev.depin.provider;

/** The kind of hardware a device is. An offer names exactly what it runs on. */
public enum DeviceKind {
    /** General-purpose CPU cores running the reference executor. */
    CPU,
    /** An NVIDIA GPU driven through CUDA. */
    CUDA
}
