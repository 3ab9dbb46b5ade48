package dev.depin.settlement;

/** A post, void or expiry named a hold key that the ledger has no hold for. Nothing was changed. */
public final class UnknownHoldException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public UnknownHoldException(String message) {
        super(message);
    }
}
