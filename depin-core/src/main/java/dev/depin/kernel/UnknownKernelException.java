package dev.depin.kernel;

import dev.depin.InvalidJobException;

/** A kernel id that the catalog does not know, or a kernel hash that does not match it. */
public class UnknownKernelException extends InvalidJobException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public UnknownKernelException(String message) {
        super(message);
    }
}
