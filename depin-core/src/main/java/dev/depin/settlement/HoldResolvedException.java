package dev.depin.settlement;

/** The hold was already posted, voided or expired under another key: a hold resolves exactly once. Nothing was changed. */
public final class HoldResolvedException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public HoldResolvedException(String message) {
        super(message);
    }
}
