package dev.depin.provider;

import dev.depin.DepinException;

/**
 * A provider refused an attempt before running it: its queue is full, it does not run
 * the kernel, the inputs do not match the spec's commitments, or the deadline passed.
 * Nothing was executed or charged; the buyer may try another provider.
 */
public class ProviderRejectedException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public ProviderRejectedException(String message) {
        super(message);
    }
}
