package dev.depin;

/**
 * A public entry point was called with an argument that can never be valid: null, a
 * negative or overflowing size, a NaN or negative price, a malformed identifier.
 *
 * <p>The message names the argument, the value received, and what a valid value looks
 * like. Nothing was changed when this is thrown.
 */
public class InvalidArgumentException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public InvalidArgumentException(String message) {
        super(message);
    }

    /**
     * Fails with a clear message when {@code value} is null.
     *
     * @param value the argument
     * @param what  the argument's name as the caller knows it
     * @param <T>   its type
     * @return {@code value}, never null
     */
    public static <T> T requireNonNull(T value, String what) {
        if (value == null) {
            throw new InvalidArgumentException(what + " is null: pass a value");
        }
        return value;
    }
}
