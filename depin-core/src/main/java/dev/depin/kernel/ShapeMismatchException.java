package dev.depin.kernel;

import dev.depin.InvalidJobException;

/**
 * A kernel's launch parameters and buffers disagree: a dimension is zero or negative,
 * a product of dimensions overflows, or a buffer does not have the size the shape
 * requires.
 */
public class ShapeMismatchException extends InvalidJobException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public ShapeMismatchException(String message) {
        super(message);
    }
}
