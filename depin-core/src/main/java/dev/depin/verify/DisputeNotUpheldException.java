package dev.depin.verify;

import dev.depin.DepinException;

/**
 * A dispute record was re-checked and does not hold: the disputed output passes the check
 * that failed, or there is nothing recomputable in the record.
 */
public class DisputeNotUpheldException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was re-checked and what it showed */
    public DisputeNotUpheldException(String message) {
        super(message);
    }
}
