package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import java.time.Instant;
import java.util.Optional;

/**
 * A hold as the ledger keeps it, in whatever state: what a settlement service needs to decide
 * who may resolve or claim it (its payer and payee) and what it was for (its spec hash).
 *
 * @param key        the hold's key
 * @param payer      whose funds are (or were) reserved
 * @param payee      who a post pays
 * @param amount     how much is (or was) reserved
 * @param expiresAt  when it may be expired
 * @param specHash   the job spec's SHA-256 (hex) it was held for, if any
 * @param state      open, or how it resolved
 * @param resolvedBy the key of the post, void or expiry that resolved it; empty while open
 */
public record HoldRecord(OperationKey key, AccountId payer, AccountId payee, MicroUsd amount, Instant expiresAt,
                         Optional<String> specHash, State state, Optional<OperationKey> resolvedBy) {

    /** Where a hold is in its life: open, then exactly one of the three ends. */
    public enum State {
        /** Reserved, not yet resolved. */
        OPEN,
        /** Paid (in part or in full) to the payee; the rest returned to the payer. */
        POSTED,
        /** Released in full to the payer. */
        VOIDED,
        /** Released to the payer after its expiry. */
        EXPIRED
    }

    /**
     * Checks the fields.
     *
     * @param key        the hold's key
     * @param payer      the payer
     * @param payee      the payee
     * @param amount     the amount
     * @param expiresAt  the expiry
     * @param specHash   the spec hash, or empty
     * @param state      the state
     * @param resolvedBy the resolving key, empty exactly when the hold is open
     * @throws InvalidArgumentException if a field is null, the spec hash is malformed, or
     *                                  {@code resolvedBy} does not match the state
     */
    public HoldRecord {
        InvalidArgumentException.requireNonNull(key, "key");
        InvalidArgumentException.requireNonNull(payer, "payer");
        InvalidArgumentException.requireNonNull(payee, "payee");
        InvalidArgumentException.requireNonNull(amount, "amount");
        InvalidArgumentException.requireNonNull(expiresAt, "expiry");
        InvalidArgumentException.requireNonNull(specHash, "spec hash (Optional.empty() for none)");
        specHash.ifPresent(HoldCertificate::requireSpecHash);
        InvalidArgumentException.requireNonNull(state, "state");
        InvalidArgumentException.requireNonNull(resolvedBy, "resolving key (Optional.empty() while open)");
        if ((state == State.OPEN) != resolvedBy.isEmpty()) {
            throw new InvalidArgumentException("hold " + key + " is " + state + (resolvedBy.isEmpty()
                    ? " but names no operation that resolved it" : " but names " + resolvedBy.get() + " as resolving it"));
        }
    }

    /** @return whether it is still open */
    public boolean isOpen() {
        return state == State.OPEN;
    }
}
