package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import java.time.Instant;

/**
 * One line of an account's statement: a posted movement in or out of it.
 *
 * @param sequence     the operation's sequence number
 * @param key          the operation's idempotency key
 * @param counterparty the other account of the movement
 * @param change       signed change of the posted balance (positive = in)
 * @param balanceAfter the posted balance after this line
 * @param at           when the operation was applied
 */
public record StatementLine(long sequence, OperationKey key, AccountId counterparty, long change,
                            long balanceAfter, Instant at) {
    /**
     * Checks the fields.
     *
     * @param sequence     the operation's sequence number
     * @param key          the operation's key
     * @param counterparty the other account
     * @param change       the signed change
     * @param balanceAfter the balance after
     * @param at           when
     * @throws InvalidArgumentException if a field is null
     */
    public StatementLine {
        InvalidArgumentException.requireNonNull(key, "key");
        InvalidArgumentException.requireNonNull(counterparty, "counterparty");
        InvalidArgumentException.requireNonNull(at, "time");
    }
}
