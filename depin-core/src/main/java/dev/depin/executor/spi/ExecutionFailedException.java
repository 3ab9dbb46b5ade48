package dev.depin.executor.spi;

import dev.depin.DepinException;

/**
 * An executor could not complete a kernel: the device failed, ran out of memory, or the
 * executor was closed. The job is retried on another provider.
 */
public class ExecutionFailedException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public ExecutionFailedException(String message) {
        super(message);
    }

    /**
     * @param message what was wrong and what to do
     * @param cause   the device or native failure underneath
     */
    public ExecutionFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
