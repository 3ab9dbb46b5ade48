package dev.depin.verify;

import dev.depin.DepinException;

/**
 * A file named as evidence cannot be read at all: it does not exist, is a directory, or
 * reading it failed. Nothing was verified; the message names the file and what to do.
 * (A file that can be read but holds bad or oversized content fails with
 * {@link OversizedEvidenceException} or a verification exception instead.)
 */
public class EvidenceFileException extends DepinException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what could not be read and what to do
     * @param cause   the I/O failure underneath, or {@code null}
     */
    public EvidenceFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
