package dev.depin.settlement;

import dev.depin.InvalidArgumentException;

/**
 * An account's state. Amounts are signed micro-USD because the issuer (and an account
 * allowed credit) can be below zero.
 *
 * @param account     the account
 * @param kind        its kind
 * @param allowCredit whether it may go below zero
 * @param posted      money that has moved in, less money that moved out
 * @param held        reserved by open holds of which it is the payer
 */
public record Balance(AccountId account, AccountKind kind, boolean allowCredit, long posted, long held) {
    /**
     * Checks the fields.
     *
     * @param account     the account
     * @param kind        its kind
     * @param allowCredit whether it may go below zero
     * @param posted      the posted balance
     * @param held        the reserved amount, &ge; 0
     * @throws InvalidArgumentException if a field is null or {@code held} is negative
     */
    public Balance {
        InvalidArgumentException.requireNonNull(account, "account");
        InvalidArgumentException.requireNonNull(kind, "kind");
        if (held < 0) {
            throw new InvalidArgumentException("held amount " + held + " of " + account + " is negative");
        }
    }

    /** @return what a new hold or transfer may take: {@code posted - held} */
    public long available() {
        return posted - held;
    }
}
