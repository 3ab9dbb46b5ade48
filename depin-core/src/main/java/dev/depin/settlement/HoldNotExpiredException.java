package dev.depin.settlement;

/** An expiry was asked for a hold whose expiry (by the ledger's clock) has not passed yet. Nothing was changed. */
public final class HoldNotExpiredException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public HoldNotExpiredException(String message) {
        super(message);
    }
}
