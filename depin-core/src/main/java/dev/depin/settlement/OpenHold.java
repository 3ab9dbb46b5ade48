package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import java.time.Instant;

/**
 * A hold that has not been posted, voided or expired: what a restarted buyer resolves.
 *
 * @param key       the hold's key
 * @param payer     whose funds are reserved
 * @param payee     who a post pays
 * @param amount    how much is reserved
 * @param expiresAt when it may be expired
 */
public record OpenHold(OperationKey key, AccountId payer, AccountId payee, MicroUsd amount, Instant expiresAt) {
    /**
     * Checks the fields.
     *
     * @param key       the hold's key
     * @param payer     the payer
     * @param payee     the payee
     * @param amount    the amount
     * @param expiresAt the expiry
     * @throws InvalidArgumentException if a field is null
     */
    public OpenHold {
        InvalidArgumentException.requireNonNull(key, "key");
        InvalidArgumentException.requireNonNull(payer, "payer");
        InvalidArgumentException.requireNonNull(payee, "payee");
        InvalidArgumentException.requireNonNull(amount, "amount");
        InvalidArgumentException.requireNonNull(expiresAt, "expiry");
    }
}
