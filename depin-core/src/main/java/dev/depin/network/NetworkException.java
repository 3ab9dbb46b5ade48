package dev.depin.network;

import dev.depin.DepinException;

/**
 * A provider could not be reached or did not answer properly: connection refused, timed
 * out, busy, closed, or it sent something malformed. The attempt fails and the job is
 * rescheduled on another provider.
 */
public class NetworkException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public NetworkException(String message) {
        super(message);
    }

    /**
     * @param message what was wrong and what to do
     * @param cause   the failure underneath
     */
    public NetworkException(String message, Throwable cause) {
        super(message, cause);
    }
}
