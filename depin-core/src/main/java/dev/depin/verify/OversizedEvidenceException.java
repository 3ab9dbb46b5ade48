package dev.depin.verify;

import dev.depin.DepinException;

/**
 * A key, spec, envelope or dispute file is larger than any genuine one can be, so it was
 * refused before being read into memory. The message names the file, its size and the
 * limit.
 */
public class OversizedEvidenceException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message the file, its size, the limit, and what to do */
    public OversizedEvidenceException(String message) {
        super(message);
    }
}
