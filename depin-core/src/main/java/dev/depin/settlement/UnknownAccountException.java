package dev.depin.settlement;

/** An operation named an account that was never opened. Nothing was changed. */
public final class UnknownAccountException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public UnknownAccountException(String message) {
        super(message);
    }
}
