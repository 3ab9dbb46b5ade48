package dev.depin.settlement;

/** An account was opened again with another kind or credit setting. Nothing was changed. */
public final class AccountConflictException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public AccountConflictException(String message) {
        super(message);
    }
}
