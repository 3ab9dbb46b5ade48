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
 * @param expiresAt  when it may be expired (unless claimed)
 * @param specHash   the job spec's SHA-256 (hex) it was held for, if any
 * @param state      open, claimed, disputed, or how it resolved
 * @param resolvedBy the key of the post, void or expiry that resolved it; empty while unresolved
 * @param claim      the payee's claim on it, if one was filed (kept after the hold resolved)
 * @param price      the offer's price the hold was placed at ({@link Operation.Hold#price()}), if it names one
 */
public record HoldRecord(OperationKey key, AccountId payer, AccountId payee, MicroUsd amount, Instant expiresAt,
                         Optional<String> specHash, State state, Optional<OperationKey> resolvedBy,
                         Optional<ClaimRecord> claim, Optional<dev.depin.money.Price> price) {

    /**
     * Where a hold is in its life: open (perhaps claimed, then perhaps disputed), then exactly
     * one of the three ends.
     */
    public enum State {
        /** Reserved, not yet resolved, not claimed. */
        OPEN,
        /**
         * Reserved and claimed by its payee: no longer voided or expired; the ledger posts the
         * claim when its dispute window ends unless the payer disputes it first.
         */
        CLAIMED,
        /** Claimed and disputed in the window: resolved by a post or a void of whoever re-checked it. */
        DISPUTED,
        /** Paid (in part or in full) to the payee; the rest returned to the payer. */
        POSTED,
        /** Released in full to the payer. */
        VOIDED,
        /** Released to the payer after its expiry. */
        EXPIRED;

        /** @return whether the hold still reserves money (open, claimed or disputed) */
        public boolean unresolved() {
            return this == OPEN || this == CLAIMED || this == DISPUTED;
        }
    }

    /**
     * A payee's claim on a hold ({@link Operation.Claim}).
     *
     * @param key        the claim's key
     * @param amount     how much is claimed
     * @param evidence   the claim's evidence (such as the receipt's SHA-256)
     * @param filedAt    when the ledger applied the claim
     * @param windowEnds when the ledger posts the claim unless it was disputed: {@code filedAt}
     *                   plus the ledger's dispute window
     * @param disputedBy the key of the dispute filed against it, if any
     */
    public record ClaimRecord(OperationKey key, MicroUsd amount, String evidence, Instant filedAt, Instant windowEnds,
                              Optional<OperationKey> disputedBy) {
        /**
         * Checks the fields.
         *
         * @param key        the claim's key
         * @param amount     the amount claimed
         * @param evidence   the evidence
         * @param filedAt    when it was filed
         * @param windowEnds when its dispute window ends
         * @param disputedBy the dispute's key, or empty
         * @throws InvalidArgumentException if a field is null or the window ends before it was filed
         */
        public ClaimRecord {
            InvalidArgumentException.requireNonNull(key, "claim key");
            InvalidArgumentException.requireNonNull(amount, "claim amount");
            InvalidArgumentException.requireNonNull(evidence, "claim evidence");
            InvalidArgumentException.requireNonNull(filedAt, "claim filing time");
            InvalidArgumentException.requireNonNull(windowEnds, "claim window end");
            InvalidArgumentException.requireNonNull(disputedBy, "dispute key (Optional.empty() for none)");
            if (windowEnds.isBefore(filedAt)) {
                throw new InvalidArgumentException("claim " + key + "'s dispute window ends at " + windowEnds
                        + ", before it was filed at " + filedAt);
            }
        }
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
     * @param resolvedBy the resolving key, empty exactly while the hold is unresolved
     * @param claim      the claim, present whenever the state is CLAIMED or DISPUTED (disputed
     *                   exactly when DISPUTED, while unresolved), absent while OPEN
     * @param price      the price the hold names, or empty
     * @throws InvalidArgumentException if a field is null, the spec hash is malformed, or
     *                                  {@code resolvedBy} or {@code claim} does not match the state
     */
    public HoldRecord {
        InvalidArgumentException.requireNonNull(price, "price (Optional.empty() for none)");
        InvalidArgumentException.requireNonNull(key, "key");
        InvalidArgumentException.requireNonNull(payer, "payer");
        InvalidArgumentException.requireNonNull(payee, "payee");
        InvalidArgumentException.requireNonNull(amount, "amount");
        InvalidArgumentException.requireNonNull(expiresAt, "expiry");
        InvalidArgumentException.requireNonNull(specHash, "spec hash (Optional.empty() for none)");
        specHash.ifPresent(HoldCertificate::requireSpecHash);
        InvalidArgumentException.requireNonNull(state, "state");
        InvalidArgumentException.requireNonNull(resolvedBy, "resolving key (Optional.empty() while open)");
        InvalidArgumentException.requireNonNull(claim, "claim (Optional.empty() for none)");
        if (state.unresolved() != resolvedBy.isEmpty()) {
            throw new InvalidArgumentException("hold " + key + " is " + state + (resolvedBy.isEmpty()
                    ? " but names no operation that resolved it" : " but names " + resolvedBy.get() + " as resolving it"));
        }
        boolean consistent = switch (state) {
            case OPEN -> claim.isEmpty();
            case CLAIMED -> claim.isPresent() && claim.get().disputedBy().isEmpty();
            case DISPUTED -> claim.isPresent() && claim.get().disputedBy().isPresent();
            case EXPIRED -> claim.isEmpty();
            default -> true;
        };
        if (!consistent) {
            throw new InvalidArgumentException("hold " + key + " is " + state + " but its claim is " + claim);
        }
    }

    /**
     * A hold that names no price.
     *
     * @param key        the hold's key
     * @param payer      the payer
     * @param payee      the payee
     * @param amount     the amount
     * @param expiresAt  the expiry
     * @param specHash   the spec hash, or empty
     * @param state      the state
     * @param resolvedBy the resolving key, empty exactly while the hold is unresolved
     * @param claim      the claim, as the canonical constructor
     * @throws InvalidArgumentException as the canonical constructor
     */
    public HoldRecord(OperationKey key, AccountId payer, AccountId payee, MicroUsd amount, Instant expiresAt,
                      Optional<String> specHash, State state, Optional<OperationKey> resolvedBy,
                      Optional<ClaimRecord> claim) {
        this(key, payer, payee, amount, expiresAt, specHash, state, resolvedBy, claim, Optional.empty());
    }

    /**
     * A hold that was never claimed.
     *
     * @param key        the hold's key
     * @param payer      the payer
     * @param payee      the payee
     * @param amount     the amount
     * @param expiresAt  the expiry
     * @param specHash   the spec hash, or empty
     * @param state      the state: not CLAIMED or DISPUTED
     * @param resolvedBy the resolving key, empty exactly while the hold is open
     * @throws InvalidArgumentException as the canonical constructor
     */
    public HoldRecord(OperationKey key, AccountId payer, AccountId payee, MicroUsd amount, Instant expiresAt,
                      Optional<String> specHash, State state, Optional<OperationKey> resolvedBy) {
        this(key, payer, payee, amount, expiresAt, specHash, state, resolvedBy, Optional.empty());
    }

    /** @return whether it is still open and unclaimed: its payer may still void it */
    public boolean isOpen() {
        return state == State.OPEN;
    }
}
