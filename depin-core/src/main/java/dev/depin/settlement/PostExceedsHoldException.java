package dev.depin.settlement;

/** A post asked for more than its hold reserved. Nothing was changed. */
public final class PostExceedsHoldException extends SettlementException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public PostExceedsHoldException(String message) {
        super(message);
    }
}
