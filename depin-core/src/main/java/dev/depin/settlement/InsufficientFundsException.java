package dev.depin.settlement;

/** The account's available balance (posted less held) is below the amount, and it is not allowed credit. Nothing was changed. */
public final class InsufficientFundsException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public InsufficientFundsException(String message) {
        super(message);
    }
}
