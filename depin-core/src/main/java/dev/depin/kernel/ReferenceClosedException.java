package dev.depin.kernel;

import dev.depin.DepinException;

/**
 * A {@link CpuReference} was used after {@link CpuReference#close()}: its worker threads are
 * gone. Create a new one, or keep the one you have open while kernels run on it.
 */
public class ReferenceClosedException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public ReferenceClosedException(String message) {
        super(message);
    }
}
