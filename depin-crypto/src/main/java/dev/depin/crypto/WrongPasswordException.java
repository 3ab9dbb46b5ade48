package dev.depin.crypto;

/**
 * An encrypted private key could not be decrypted with the given password (or no
 * password was given for an encrypted key).
 */
public final class WrongPasswordException extends KeyFormatException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what to do
     * @param cause   the decryption failure; may be {@code null}
     */
    public WrongPasswordException(String message, Throwable cause) {
        super(message, cause);
    }
}
