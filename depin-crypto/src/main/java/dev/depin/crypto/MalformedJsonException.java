package dev.depin.crypto;

import dev.depin.InvalidArgumentException;

/**
 * A JSON document given to {@link CanonicalJson#readTree(byte[])} is empty, malformed,
 * has duplicate keys or trailing data, or exceeds one of the reader's limits. Nothing was
 * read when this is thrown.
 */
public final class MalformedJsonException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what to do
     * @param cause   the parser's failure; may be {@code null}
     */
    public MalformedJsonException(String message, Throwable cause) {
        super(message);
        if (cause != null) {
            initCause(cause);
        }
    }
}
