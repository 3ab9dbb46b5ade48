package dev.depin.executor.spi;

import dev.depin.DepinException;

/** The job's execution was cancelled (by the buyer, its deadline, or the node closing) and stopped. */
public class ExecutionCancelledException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was cancelled and why */
    public ExecutionCancelledException(String message) {
        super(message);
    }
}
