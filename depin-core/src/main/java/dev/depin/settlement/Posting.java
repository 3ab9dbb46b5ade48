package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;

/**
 * One leg of an applied operation: {@code amount} from {@code debit} to {@code credit}.
 *
 * @param debit   the account debited
 * @param credit  the account credited
 * @param amount  how much
 * @param pending true for a hold's reservation (no balance moved yet), false for money
 *                that moved
 */
public record Posting(AccountId debit, AccountId credit, MicroUsd amount, boolean pending) {
    /**
     * Checks the fields.
     *
     * @param debit   the account debited
     * @param credit  the account credited
     * @param amount  how much
     * @param pending whether this is a hold's reservation
     * @throws InvalidArgumentException if a field is null
     */
    public Posting {
        InvalidArgumentException.requireNonNull(debit, "debit account");
        InvalidArgumentException.requireNonNull(credit, "credit account");
        InvalidArgumentException.requireNonNull(amount, "amount");
    }
}
