package dev.depin.settlement;

/** The operation would take a balance beyond the range of a 64-bit count of micro-USD. Nothing was changed. */
public final class AmountOverflowException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public AmountOverflowException(String message) {
        super(message);
    }
}
