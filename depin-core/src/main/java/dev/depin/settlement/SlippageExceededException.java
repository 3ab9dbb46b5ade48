package dev.depin.settlement;

/** The token rate moved further from the job's first quote than the buyer's slippage bound allows. No money moved. */
public final class SlippageExceededException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public SlippageExceededException(String message) {
        super(message);
    }
}
