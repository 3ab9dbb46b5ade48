package dev.depin.client;

import dev.depin.DepinException;

/**
 * No offer on the network fits a job: none runs its kernel, meets its requirements,
 * fits its price cap, or is still valid. The message lists why each offer was passed
 * over, so the buyer can relax a requirement or raise the cap.
 */
public class NoMatchingOfferException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message which offers were considered and why each was passed over */
    public NoMatchingOfferException(String message) {
        super(message);
    }
}
