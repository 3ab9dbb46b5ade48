package dev.depin.client;

import dev.depin.InvalidArgumentException;

/**
 * What one client has seen of one provider.
 *
 * @param verified   attempts whose results passed verification
 * @param failed     attempts that failed (refused, errors, timeouts, malformed answers)
 * @param disputed   attempts whose results or proofs failed a check
 * @param reputation the score the client ranks by, in (0, 1); 0.5 for a provider never used
 */
public record ProviderHistory(long verified, long failed, long disputed, double reputation) {
    /**
     * Creates a history after checking its counts and score.
     *
     * @param verified   attempts whose results passed verification, &ge; 0
     * @param failed     attempts that failed (refused, errors, timeouts, malformed answers), &ge; 0
     * @param disputed   attempts whose results or proofs failed a check, &ge; 0
     * @param reputation the ranking score, in [0, 1] (NaN is refused)
     * @throws InvalidArgumentException on negative counts or a score outside [0, 1]
     */
    public ProviderHistory {
        if (verified < 0 || failed < 0 || disputed < 0) {
            throw new InvalidArgumentException("history counts must be >= 0, got " + verified + "/" + failed + "/"
                    + disputed);
        }
        if (!(reputation >= 0 && reputation <= 1)) {
            throw new InvalidArgumentException("reputation " + reputation + " must be in [0, 1]");
        }
    }
}
