package dev.depin.settlement;

/**
 * The ledger could not apply an operation for a reason outside the operation (the database
 * failed, the disk is full, the ledger is closed or out of reach): {@link #reason()} is
 * {@link SettlementException.Reason#LEDGER_FAILURE}. The operation was not applied; retrying it
 * with the same key is safe.
 */
public final class LedgerFailureException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public LedgerFailureException(String message) {
        super(Reason.LEDGER_FAILURE, message);
    }

    /**
     * @param message what was wrong and what to do
     * @param cause   the failure underneath
     */
    public LedgerFailureException(String message, Throwable cause) {
        super(Reason.LEDGER_FAILURE, message, cause);
    }
}
