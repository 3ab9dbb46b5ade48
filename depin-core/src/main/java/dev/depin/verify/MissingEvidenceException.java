package dev.depin.verify;

import dev.depin.InvalidArgumentException;

/**
 * The verifier was not given data it needs for the check it was asked to make: an
 * output the receipt commits to, or an input a dispute's recomputation reads. Nothing
 * was decided about the evidence; the message names what to pass.
 */
public class MissingEvidenceException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    /** @param message what is missing and how to pass it */
    public MissingEvidenceException(String message) {
        super(message);
    }
}
