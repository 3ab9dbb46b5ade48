package dev.depin.crypto;

import dev.depin.DepinException;

/**
 * A key file could not be read or written: it does not exist, is a directory, or the file
 * system refused (permissions, a missing or read-only directory). What the file holds is
 * judged by {@link KeyFormatException} and its subclasses.
 */
public final class KeyFileException extends DepinException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what to do
     * @param cause   the I/O failure; may be {@code null}
     */
    public KeyFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
