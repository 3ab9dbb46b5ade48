package dev.depin.settlement;

/** The operation's key was already used by an operation with other fields. Nothing was changed. */
public final class IdempotencyConflictException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public IdempotencyConflictException(String message) {
        super(message);
    }
}
