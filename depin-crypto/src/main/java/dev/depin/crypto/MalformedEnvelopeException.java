package dev.depin.crypto;

/**
 * An envelope or its payload could not be parsed: bad JSON, bad base64, a missing field,
 * no signatures, or an oversized input ({@link VerificationException.Reason#MALFORMED_ENVELOPE}
 * or {@link VerificationException.Reason#MALFORMED_STATEMENT}).
 */
public final class MalformedEnvelopeException extends VerificationException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param reason  {@code MALFORMED_ENVELOPE} or {@code MALFORMED_STATEMENT}
     * @param message what was wrong and what to do
     * @param cause   the parser's failure; may be {@code null}
     */
    public MalformedEnvelopeException(Reason reason, String message, Throwable cause) {
        super(reason, message, null, cause);
    }

    /**
     * Creates a {@code MALFORMED_ENVELOPE} exception.
     *
     * @param message what was wrong and what to do
     */
    public MalformedEnvelopeException(String message) {
        this(Reason.MALFORMED_ENVELOPE, message, null);
    }
}
