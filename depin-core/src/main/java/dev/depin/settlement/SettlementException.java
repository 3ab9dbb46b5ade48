package dev.depin.settlement;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;

/**
 * A settlement operation was refused or could not be applied; {@link #reason()} says which.
 *
 * <p>Every reason but {@link Reason#LEDGER_FAILURE} is a <em>refusal</em>: the operation was
 * judged against the ledger and refused, and nothing in the ledger changed; retrying it
 * unchanged is refused again. {@link Reason#LEDGER_FAILURE} is always a
 * {@link LedgerFailureException}: the ledger could not judge the operation (the database, the
 * disk, the network, a closed ledger), nothing was applied, and retrying with the same key is
 * safe. Catch the type to treat every settlement error alike, {@link LedgerFailureException}
 * to retry, and switch on the reason for the rest.
 */
public sealed class SettlementException extends DepinException permits LedgerFailureException {
    private static final long serialVersionUID = 1L;

    /** Why an operation was refused, or that the ledger failed. */
    public enum Reason {
        /** An account was opened again with another kind or credit setting. */
        ACCOUNT_CONFLICT,
        /**
         * The operation does not fit an account's kind (a slash from an account that is not a
         * stake, money into the issuer, money out of the burn account).
         */
        ACCOUNT_KIND,
        /** The operation would take a balance beyond the range of a 64-bit count of micro-USD. */
        AMOUNT_OVERFLOW,
        /** The hold's expiry has passed (or the ledger expired it), so it can no longer be posted. */
        HOLD_EXPIRED,
        /** An expiry was asked for a hold whose expiry (by the ledger's clock) has not passed yet. */
        HOLD_NOT_EXPIRED,
        /** The hold was already posted, voided or expired under another key: a hold resolves once. */
        HOLD_RESOLVED,
        /**
         * The hold is claimed by its payee (or the claim is disputed): it can no longer be voided
         * or expired, nor posted for less than the claim, nor claimed again. The payer disputes
         * the claim instead; a disputed hold is resolved by a post or a void of whoever
         * re-checked the dispute.
         */
        HOLD_CLAIMED,
        /** A dispute named a hold that no payee has claimed: void the hold instead. */
        HOLD_NOT_CLAIMED,
        /**
         * A dispute came at or after the end of the claim's dispute window, or a void (or a post
         * for less than the claim) of a disputed hold at or after its re-check deadline: the
         * claim stands, and the ledger posts it.
         */
        DISPUTE_WINDOW_CLOSED,
        /**
         * A settlement service refused a claim: the receipt is not signed by the caller's key,
         * or is for another job, attempt or spec than the hold.
         */
        CLAIM_REJECTED,
        /**
         * A settlement service re-checked a dispute with the offline verifier and it does not
         * convict the provider: the claim stands (the record does not bind to the claim), or is
         * posted at once (the claim was frozen by the dispute, and the re-check rejected it).
         */
        DISPUTE_REJECTED,
        /** The operation's key was already used by an operation with other fields. */
        IDEMPOTENCY_CONFLICT,
        /** The account's available balance (posted less held) is below the amount, without credit. */
        INSUFFICIENT_FUNDS,
        /** A post asked for more than its hold reserved. */
        POST_EXCEEDS_HOLD,
        /** The token rate moved further from the job's first quote than the buyer's bound allows. */
        SLIPPAGE_EXCEEDED,
        /** The oracle's rate is older than the buyer accepts, or a quote was used after it expired. */
        STALE_QUOTE,
        /** An operation named an account that was never opened. */
        UNKNOWN_ACCOUNT,
        /** A post, void or expiry named a hold key that the ledger has no hold for. */
        UNKNOWN_HOLD,
        /**
         * A settlement service refused the request because the caller's key may not act for the
         * account or hold it names (or only an operator may make it); nothing changed. Ask the
         * service's operator for the grant, or use the key that has it.
         */
        NOT_PERMITTED,
        /**
         * The ledger could not apply the operation for a reason outside it; always a
         * {@link LedgerFailureException}. Retrying with the same key is safe.
         */
        LEDGER_FAILURE
    }

    /** Why. */
    private final Reason reason;

    /**
     * A refusal.
     *
     * @param reason  why; not {@link Reason#LEDGER_FAILURE}, which is a {@link LedgerFailureException}
     * @param message what was wrong and what to do
     * @throws InvalidArgumentException if {@code reason} is null, or is {@code LEDGER_FAILURE}
     *                                  outside a {@link LedgerFailureException}
     */
    public SettlementException(Reason reason, String message) {
        super(message);
        this.reason = checked(reason, this);
    }

    /**
     * A refusal with the failure underneath.
     *
     * @param reason  why; not {@link Reason#LEDGER_FAILURE}, which is a {@link LedgerFailureException}
     * @param message what was wrong and what to do
     * @param cause   the failure underneath
     * @throws InvalidArgumentException if {@code reason} is null, or is {@code LEDGER_FAILURE}
     *                                  outside a {@link LedgerFailureException}
     */
    public SettlementException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = checked(reason, this);
    }

    private static Reason checked(Reason reason, SettlementException self) {
        InvalidArgumentException.requireNonNull(reason, "reason");
        if ((reason == Reason.LEDGER_FAILURE) != (self instanceof LedgerFailureException)) {
            throw new InvalidArgumentException("reason " + reason + " goes with "
                    + (reason == Reason.LEDGER_FAILURE ? "LedgerFailureException" : "SettlementException") + " only");
        }
        return reason;
    }

    /** @return why the operation was refused, or {@link Reason#LEDGER_FAILURE} */
    public Reason reason() {
        return reason;
    }

    /**
     * @param reason a reason
     * @return whether this is that reason
     */
    public boolean is(Reason reason) {
        return this.reason == reason;
    }
}
