package dev.depin.crypto;

/**
 * A signature does not verify under the public key it is checked against
 * ({@link VerificationException.Reason#BAD_SIGNATURE}).
 */
public final class BadSignatureException extends VerificationException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what to do
     */
    public BadSignatureException(String message) {
        super(Reason.BAD_SIGNATURE, message);
    }
}
