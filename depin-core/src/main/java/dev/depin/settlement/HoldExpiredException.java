package dev.depin.settlement;

/** The hold's expiry has passed, so it can no longer be posted: void or expire it. Nothing was changed. */
public final class HoldExpiredException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public HoldExpiredException(String message) {
        super(message);
    }
}
