package dev.depin.crypto;

/**
 * A password (passphrase) was given for a private key that is stored unencrypted. It is
 * refused rather than ignored: whoever gives a password expects the key on disk to be
 * protected by it, and it is not.
 */
public final class UnencryptedKeyException extends KeyFormatException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong and what to do
     */
    public UnencryptedKeyException(String message) {
        super(message, null);
    }
}
