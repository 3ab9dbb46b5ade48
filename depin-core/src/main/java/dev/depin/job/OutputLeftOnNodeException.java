package dev.depin.job;

import dev.depin.DepinException;

/**
 * The bytes of an output were asked for, but the job left that output on the provider
 * ({@link Job.Builder#leaveOutputsOnNode}): no bytes came back, so none are returned (never
 * an empty buffer). The message names the output, its root, the provider and what to do:
 * fetch its chunks with {@code DepinClient.fetchHeld}, or pass it to a following job with
 * {@link Job.Builder#inputFrom}.
 */
public class OutputLeftOnNodeException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message which output, where it is held, and how to get it */
    public OutputLeftOnNodeException(String message) {
        super(message);
    }
}
