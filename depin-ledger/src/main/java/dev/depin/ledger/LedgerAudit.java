package dev.depin.ledger;

import dev.depin.InvalidArgumentException;
import java.util.List;

/**
 * What {@link JdbcLedger#audit()} found: the ledger recomputed from its entries and holds.
 *
 * @param accounts   how many accounts exist (the issuer and burn accounts included)
 * @param operations how many operations were applied
 * @param minted     the total ever minted, in micro-USD; the sum over all accounts but the
 *                   issuer equals it
 * @param openHolds  how many holds are open
 * @param violations every broken invariant, in words; empty for a sound ledger
 */
public record LedgerAudit(long accounts, long operations, long minted, long openHolds, List<String> violations) {
    /**
     * Copies the list.
     *
     * @param accounts   how many accounts exist
     * @param operations how many operations were applied
     * @param minted     the total minted
     * @param openHolds  how many holds are open
     * @param violations the broken invariants
     * @throws InvalidArgumentException if {@code violations} is null
     */
    public LedgerAudit {
        violations = List.copyOf(InvalidArgumentException.requireNonNull(violations, "violations"));
    }

    /** @return true when no invariant is broken */
    public boolean sound() {
        return violations.isEmpty();
    }
}
