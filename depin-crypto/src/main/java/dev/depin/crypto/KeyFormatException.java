package dev.depin.crypto;

import dev.depin.DepinException;

/**
 * A key file or key encoding could not be read: not PEM, not Ed25519, corrupted.
 */
public class KeyFormatException extends DepinException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what to do
     * @param cause   the parser's failure; may be {@code null}
     */
    public KeyFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
