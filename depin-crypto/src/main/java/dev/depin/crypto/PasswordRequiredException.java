package dev.depin.crypto;

/**
 * A private key is encrypted but no password (passphrase) was given to decrypt it.
 */
public final class PasswordRequiredException extends KeyFormatException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what to do
     */
    public PasswordRequiredException(String message) {
        super(message, null);
    }
}
