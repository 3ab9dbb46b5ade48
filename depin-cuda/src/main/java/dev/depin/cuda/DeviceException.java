package dev.depin.cuda;

import dev.depin.executor.spi.ExecutionFailedException;

/**
 * A CUDA driver call failed. The message names the call and the driver's error (for
 * example {@code "cuMemAlloc(268435456 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY"}) and what
 * to do; {@link #call()} and {@link #error()} give both as values.
 */
public final class DeviceException extends ExecutionFailedException {
    private static final long serialVersionUID = 1L;

    /** The driver call, with its key arguments. */
    private final String call;
    /** The driver's error name, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    private final String error;

    /**
     * Creates the exception for a failed call.
     *
     * @param call   the driver call, with its key arguments
     * @param error  the driver's error name
     * @param advice what to do about it, or empty
     * @param cause  the native failure underneath, or {@code null}
     */
    public DeviceException(String call, String error, String advice, Throwable cause) {
        super(call + " failed: " + error + (advice == null || advice.isEmpty() ? "" : "; " + advice), cause);
        this.call = call;
        this.error = error;
    }

    /** @return the driver call that failed, with its key arguments */
    public String call() {
        return call;
    }

    /** @return the driver's error name, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY} */
    public String error() {
        return error;
    }
}
