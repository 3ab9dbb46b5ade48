package dev.depin.settlement;

/** The oracle's rate is older than the buyer accepts, or a quote was used after it expired. No money moved. */
public final class StaleQuoteException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public StaleQuoteException(String message) {
        super(message);
    }
}
