package dev.depin.provider;

import dev.depin.DepinException;

/**
 * An offer cannot be used: its signature does not verify, its node id is not its key's
 * hash, it has expired, or its terms are malformed. Such an offer is never matched.
 */
public class InvalidOfferException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public InvalidOfferException(String message) {
        super(message);
    }
}
