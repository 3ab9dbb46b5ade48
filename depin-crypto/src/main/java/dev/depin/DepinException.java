package dev.depin;

/**
 * Root of every exception that depin throws on purpose.
 *
 * <p>It is unchecked: callers that want to react to one area (a bad spec, a failed
 * verification, a network fault) catch that area's subclass; callers that do not care
 * let it travel. Every message says what was wrong and what to do about it, in the
 * style "input 'a' has 12 bytes but the spec declares 16: send the bytes the spec was
 * built from".
 *
 * <p>This class lives in {@code depin-crypto}, the bottom of the module graph, so that
 * every module (crypto, core, cuda) shares one root.
 */
public class DepinException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message that says what was wrong and what to do.
     *
     * @param message what was wrong and what to do; never {@code null}
     */
    public DepinException(String message) {
        super(message);
    }

    /**
     * Creates an exception that wraps a lower-level cause (a native, I/O or network
     * failure).
     *
     * @param message what was wrong and what to do
     * @param cause   the failure underneath
     */
    public DepinException(String message, Throwable cause) {
        super(message, cause);
    }
}
