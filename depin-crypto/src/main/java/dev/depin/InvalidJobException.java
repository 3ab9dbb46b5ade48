package dev.depin;


/**
 * A job cannot be run as specified: its spec is inconsistent, its inputs do not match
 * the spec, or its shapes do not fit the kernel. Thrown at submission, before any offer
 * is matched or any money is held.
 */
public class InvalidJobException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public InvalidJobException(String message) {
        super(message);
    }
}
