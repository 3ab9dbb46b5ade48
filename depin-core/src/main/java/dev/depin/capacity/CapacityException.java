package dev.depin.capacity;

import dev.depin.DepinException;

/**
 * A capacity market could not do what was asked: it refused the request, its API answered with
 * an error, or it could not be reached. The message names the market and says what to do.
 */
public class CapacityException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what went wrong and what to do */
    public CapacityException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong and what to do
     * @param cause   the underlying failure
     */
    public CapacityException(String message, Throwable cause) {
        super(message, cause);
    }
}
