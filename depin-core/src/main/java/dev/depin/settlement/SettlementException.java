package dev.depin.settlement;

import dev.depin.DepinException;

/**
 * A settlement operation was refused or could not be applied. When one of its subclasses
 * refuses an operation, nothing in the ledger changed.
 */
public class SettlementException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public SettlementException(String message) {
        super(message);
    }

    /**
     * @param message what was wrong and what to do
     * @param cause   the failure underneath
     */
    public SettlementException(String message, Throwable cause) {
        super(message, cause);
    }
}
