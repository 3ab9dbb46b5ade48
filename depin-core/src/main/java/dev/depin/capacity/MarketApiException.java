package dev.depin.capacity;

/**
 * A market's API answered a call with an error: an invalid key, insufficient funds, no bids, a
 * closed deployment, a malformed answer. {@link #status()} is the HTTP status (0 when the
 * market was not reached or its answer could not be read), {@link #code()} the market's own
 * error code or a short name of the condition.
 */
public final class MarketApiException extends CapacityException {
    private static final long serialVersionUID = 1L;

    /** The market's name. */
    private final String market;
    /** The HTTP status, 0 when there was none. */
    private final int status;
    /** The market's error code. */
    private final String code;

    /**
     * @param market  the market's name
     * @param status  the HTTP status, 0 when there was none
     * @param code    the market's error code or a short name of the condition
     * @param message what the market said and what to do
     */
    public MarketApiException(String market, int status, String code, String message) {
        super(message);
        this.market = market;
        this.status = status;
        this.code = code;
    }

    /**
     * @param market  the market's name
     * @param message what went wrong and what to do
     * @param cause   the I/O failure
     */
    public MarketApiException(String market, String message, Throwable cause) {
        super(message, cause);
        this.market = market;
        this.status = 0;
        this.code = "unreachable";
    }

    /** @return the market's name */
    public String market() {
        return market;
    }

    /** @return the HTTP status, 0 when there was none */
    public int status() {
        return status;
    }

    /** @return the market's error code or a short name of the condition */
    public String code() {
        return code;
    }
}
